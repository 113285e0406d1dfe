"""Who a person is when the site's identity provider vouches for them: single sign-on through OpenID Connect
(and, optionally, LDAP), the accounts and lab memberships it keeps up to date, and the re-authentication a
signature asks of a person who has no password here. docs/sso.md has the configuration and the decisions."""

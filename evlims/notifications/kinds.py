"""The kinds of notification, who gets them, and the words people see for them."""

REVIEW_SUBMITTED = "review_submitted"
REVIEW_VERIFIED = "review_verified"
REVIEW_REJECTED = "review_rejected"
REVIEW_APPROVED = "review_approved"
APPROVAL_VOIDED = "approval_voided"
CONTROL_RULE_BROKEN = "control_rule_broken"

KINDS = {
    REVIEW_SUBMITTED: ("Review submitted", "A record of your lab is submitted for QA review (QA managers)."),
    REVIEW_VERIFIED: ("Review verified", "A record you submitted is verified."),
    REVIEW_REJECTED: ("Review rejected", "A record you submitted is rejected, with the reason."),
    REVIEW_APPROVED: ("Review approved", "A record you submitted is approved."),
    APPROVAL_VOIDED: ("Approval voided", "An approved record of your lab changed, voiding its approval (lab admins)."),
    CONTROL_RULE_BROKEN: (
        "Control rule broken",
        "A control chart of your lab breaks a Westgard rejection rule (lab admins).",
    ),
}
CHOICES = [(key, words[0]) for key, words in KINDS.items()]

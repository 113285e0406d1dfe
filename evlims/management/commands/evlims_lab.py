"""``manage.py evlims_lab``: create labs and projects and give people a role in a lab.

    manage.py evlims_lab create "Vesicle Biology Lab" --slug vesicle
    manage.py evlims_lab project vesicle PLASMA-01 "Plasma EV cohort"
    manage.py evlims_lab member vesicle alice --role lab_staff
    manage.py evlims_lab member vesicle alice --remove
    manage.py evlims_lab list

Every change goes through the tenancy services (evlims/core/labs.py), so it is in the audit trail with its
reason, recorded as done by "system" (whoever has a shell on the server).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from evlims.core import labs
from evlims.core.models import Lab, Membership, Project, Role

DEFAULT_REASON = "Set up with manage.py evlims_lab"


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create labs and projects, and give users a role in a lab (lab_staff, qa_manager, lab_admin, instrument)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,project,member,list}")

        create = actions.add_parser("create", help="create a lab")
        create.add_argument("name", help="the lab's name, unique on the site")
        create.add_argument("--slug", default="", help="short name used on the command line (default: from the name)")

        project = actions.add_parser("project", help="create a project in a lab")
        project.add_argument("lab", help="the lab's slug or name")
        project.add_argument("code", help="the project's code, unique in the lab")
        project.add_argument("title", help="the project's title")
        project.add_argument("--description", default="")

        member = actions.add_parser("member", help="give a user a role in a lab (or change it, or remove it)")
        member.add_argument("lab", help="the lab's slug or name")
        member.add_argument("username")
        member.add_argument("--role", choices=Role.values, default=Role.LAB_STAFF, help="default: lab_staff")
        member.add_argument("--remove", action="store_true", help="take the user out of the lab")

        actions.add_parser("list", help="list the labs with their projects and members")

        for subparser in (create, project, member):
            subparser.add_argument("--reason", default=DEFAULT_REASON, help="why, for the audit trail")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as error:
            raise CommandError(_messages(error)) from None

    def _create(self, *, name, slug, reason, **options):
        lab = labs.lab_create(actor=None, name=name, slug=slug, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"Lab created: {lab.name} (slug {lab.slug})."))

    def _project(self, *, lab, code, title, description, reason, **options):
        found = self._lab(lab)
        project = labs.project_create(
            actor=None, lab=found, code=code, title=title, description=description, reason=reason
        )
        self.stdout.write(self.style.SUCCESS(f"Project created in {found.name}: {project}."))

    def _member(self, *, lab, username, role, remove, reason, **options):
        found = self._lab(lab)
        user = self._user(username)
        if remove:
            membership = Membership.objects.filter(lab=found, user=user).first()
            if membership is None:
                raise CommandError(f"{username} is not a member of {found.name}.")
            labs.membership_remove(membership, actor=None, reason=reason)
            self.stdout.write(self.style.SUCCESS(f"{username} removed from {found.name}."))
            return
        membership = labs.membership_set(actor=None, lab=found, user=user, role=role, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"{username} is {membership.get_role_display()} in {found.name}."))

    def _list(self, **options):
        for lab in Lab.objects.order_by("name"):
            self.stdout.write(f"{lab.name} (slug {lab.slug})")
            for project in Project.objects.filter(lab=lab).order_by("code"):
                self.stdout.write(f"  project {project}")
            for membership in Membership.objects.filter(lab=lab).select_related("user").order_by("user__username"):
                self.stdout.write(f"  member  {membership.user.get_username()} ({membership.get_role_display()})")

    def _lab(self, key: str) -> Lab:
        lab = Lab.objects.filter(Q(slug=key) | Q(name=key)).first()
        if lab is None:
            known = ", ".join(Lab.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
            raise CommandError(
                f"No lab with the slug or name {key!r} (labs: {known}). Create it with: evlims_lab create NAME."
            )
        return lab

    def _user(self, username: str):
        model = get_user_model()
        try:
            return model.objects.get(**{model.USERNAME_FIELD: username})
        except model.DoesNotExist:
            raise CommandError(
                f"No user {username!r}. Create the account first (manage.py createsuperuser, or the admin)."
            ) from None

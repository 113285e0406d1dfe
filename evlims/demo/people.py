"""The demo's labs, projects and people (one of each role per lab, sharing one published password)."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from evlims.core.models import Lab, Membership, Project, Role

DEMO_PASSWORD = "evlims-demo-2026"
SUPERUSER_NAME = "siteadmin"


@dataclass(frozen=True)
class ProjectPlan:
    code: str
    title: str
    share: float  # of the lab's samples
    biofluids: dict[str, float]  # biofluid code -> weight within the project


@dataclass(frozen=True)
class LabPlan:
    slug: str
    name: str
    handle: str  # username prefix, e.g. "vesicle" -> vesicle.staff
    projects: tuple[ProjectPlan, ...]
    people: dict[str, str] = field(default_factory=dict)  # role -> full name


LABS = (
    LabPlan(
        slug="vesicle-biology",
        name="Vesicle Biology Lab",
        handle="vesicle",
        projects=(
            ProjectPlan(
                "PLASMA-CRC",
                "Plasma EV biomarkers in colorectal cancer",
                0.65,
                {"blood_plasma": 0.75, "serum": 0.25},
            ),
            ProjectPlan("CSF-AD", "CSF extracellular vesicles in Alzheimer's disease", 0.35, {"csf": 1.0}),
        ),
        people={"staff": "Ana Ruiz", "qa": "Lena Vogel", "admin": "Marc Dubois", "instrument": "NanoSight NS300"},
    ),
    LabPlan(
        slug="renal-ev",
        name="Renal EV Unit",
        handle="renal",
        projects=(
            ProjectPlan("URINE-CKD", "Urinary EVs in chronic kidney disease", 0.7, {"urine": 1.0}),
            ProjectPlan(
                "PLASMA-CKD",
                "Circulating EVs in dialysis patients",
                0.3,
                {"blood_plasma": 0.6, "serum": 0.4},
            ),
        ),
        people={"staff": "Kofi Mensah", "qa": "Ingrid Holm", "admin": "Sara Costa", "instrument": "ZetaView PMX-120"},
    ),
    LabPlan(
        slug="cell-secretome",
        name="Cell Secretome Core",
        handle="secretome",
        projects=(
            ProjectPlan(
                "CCM-BC",
                "Breast cancer cell-line EV secretome",
                0.6,
                {"cell_culture_medium": 1.0},
            ),
            ProjectPlan(
                "CSF-MS",
                "CSF and plasma EVs in multiple sclerosis",
                0.4,
                {"csf": 0.55, "blood_plasma": 0.45},
            ),
        ),
        people={"staff": "Yuki Tanaka", "qa": "Omar Haddad", "admin": "Priya Nair", "instrument": "Plate reader"},
    ),
)

ROLE_SUFFIX = {
    Role.LAB_STAFF: "staff",
    Role.QA_MANAGER: "qa",
    Role.LAB_ADMIN: "admin",
    Role.INSTRUMENT: "instrument",
}


@dataclass
class LabPeople:
    lab: Lab
    plan: LabPlan
    projects: dict[str, Project]
    users: dict[str, object]  # Role -> user

    @property
    def staff(self):
        return self.users[Role.LAB_STAFF]

    @property
    def admin(self):
        return self.users[Role.LAB_ADMIN]

    @property
    def instrument(self):
        return self.users[Role.INSTRUMENT]

    @property
    def writers(self):
        """The people who do bench work (operators of runs, movers of tubes)."""
        return [self.staff, self.admin]


def username(plan: LabPlan, role: str) -> str:
    return f"{plan.handle}.{ROLE_SUFFIX[role]}"


def demo_password_hash() -> str:
    """One hash of the published password for every demo account.

    Hashing is deliberately slow (hundreds of milliseconds per call); hashing once keeps the load fast.
    Sharing the salt reveals nothing here: every account has the same, published password anyway.
    """
    return make_password(DEMO_PASSWORD)


def _user(name: str, full_name: str, password_hash: str, *, staff_site_access=False, superuser=False):
    first, _, last = full_name.partition(" ")
    user = get_user_model()(
        username=name,
        email=f"{name}@demo.evlims.example",
        first_name=first,
        last_name=last,
        is_staff=staff_site_access or superuser,
        is_superuser=superuser,
    )
    user.password = password_hash
    user.save()
    return user


def create_lab(plan: LabPlan, password_hash: str) -> LabPeople:
    """The lab, its projects, and one user per role (memberships are the only grant of access)."""
    lab = Lab.objects.create(name=plan.name, slug=plan.slug)
    projects = {
        project.code: Project.objects.create(lab=lab, code=project.code, title=project.title)
        for project in plan.projects
    }
    users = {}
    for role, suffix in ROLE_SUFFIX.items():
        user = _user(username(plan, role), plan.people[suffix], password_hash, staff_site_access=role == Role.LAB_ADMIN)
        Membership.objects.create(user=user, lab=lab, role=role)
        users[role] = user
    return LabPeople(lab=lab, plan=plan, projects=projects, users=users)


def create_superuser(password_hash: str):
    return _user(SUPERUSER_NAME, "Site Administrator", password_hash, superuser=True)


def reset_passwords() -> int:
    """Give every demo account the published password again (someone may have changed it on the tour)."""
    names = [username(plan, role) for plan in LABS for role in ROLE_SUFFIX] + [SUPERUSER_NAME]
    return get_user_model().objects.filter(username__in=names).update(password=demo_password_hash())


def login_rows() -> list[tuple[str, str, str]]:
    """(username, lab, role) for every demo account, in the order they are printed."""
    rows = [(username(plan, role), plan.name, role.label) for plan in LABS for role in ROLE_SUFFIX]
    rows.append((SUPERUSER_NAME, "(all, through /admin/)", "Django superuser"))
    return rows

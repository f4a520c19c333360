#!/usr/bin/env bash
# bench-peer.sh — the ingest bench side by side with a peer: django-helpdesk
# (PyPI, SQLite, its `get_email` management command reading an IMAP queue on
# the rig's Dovecot and sending acknowledgements through the rig's Postfix),
# on the same N help requests, each run in a fresh rig. Installs
# django-helpdesk into a virtualenv under target/bench-peer (kept between
# runs). Figures: see docs/benchmarks.md.
# Usage: scripts/bench-peer.sh [RUNS (default 3)] [N (default 2000)]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
n=${2:-2000}
VERSION=2.6.1
PEER=$PWD/target/bench-peer
PY=${PYTHON:-python3}

scripts/mailrig.sh install
mkdir -p "$PEER/project/peer"
if [[ ! -x $PEER/venv/bin/python ]] || ! "$PEER/venv/bin/pip" show django-helpdesk 2>/dev/null | grep -q "^Version: $VERSION\$"; then
    "$PY" -m venv "$PEER/venv"
    "$PEER/venv/bin/pip" install -q "django-helpdesk==$VERSION"
fi

# A minimal Django site around the helpdesk app, configured from the
# environment the bench passes (the rig's ports).
cat >"$PEER/project/manage.py" <<'PYEOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PYEOF
: >"$PEER/project/peer/__init__.py"
cat >"$PEER/project/peer/urls.py" <<'PYEOF'
from django.urls import include, path
urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
PYEOF
cat >"$PEER/project/peer/settings.py" <<'PYEOF'
import os
from pathlib import Path
BASE = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages"]},
}]
ROOT_URLCONF = "peer.urls"
SITE_ID = 1
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("PEER_DB", str(BASE / "db.sqlite3"))}}
USE_TZ = True
STATIC_URL = "/static/"
MEDIA_ROOT = str(BASE / "media")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("SMTP_PORT", "25"))
EMAIL_HOST_USER = "helpdesk@example.test"
EMAIL_HOST_PASSWORD = "secret"
DEFAULT_FROM_EMAIL = "helpdesk@example.test"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Teams need pinax-teams, which the helpdesk's own docs make optional.
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
PYEOF
cat >"$PEER/peer.sh" <<EOF2
#!/usr/bin/env bash
# setup: a fresh copy of the migrated database with one IMAP queue on the rig;
# run: one get_email pass over it (STARTTLS to the rig's Dovecot, its CA trusted).
set -euo pipefail
cd "$PEER/project"
case \$1 in
setup)
    cp "$PEER/pristine.sqlite3" db.sqlite3
    rm -rf media
    "$PEER/venv/bin/python" manage.py shell -c "
from helpdesk.models import Queue
import os
Queue.objects.create(title='IT', slug='it', email_address='helpdesk@example.test',
    allow_email_submission=True, email_box_type='imap', email_box_host='127.0.0.1',
    email_box_port=int(os.environ['IMAP_PORT']), email_box_ssl=False,
    email_box_user='helpdesk@example.test', email_box_pass='secret',
    email_box_imap_folder='INBOX', email_box_interval=0, logging_type='none')
" ;;
run)
    SSL_CERT_FILE=\$CA_FILE exec "$PEER/venv/bin/python" manage.py get_email --quiet ;;
esac
EOF2
chmod +x "$PEER/peer.sh"
if [[ ! -s $PEER/pristine.sqlite3 ]]; then
    (cd "$PEER/project" && PEER_DB="$PEER/pristine.sqlite3" "$PEER/venv/bin/python" manage.py migrate -v 0)
fi

# The peer's own runs take minutes: itdesk's runs here skip the submission limits.
cargo bench --bench ingest -- --runs "$runs" --n "$n" --quick \
    --peer-setup "$PEER/peer.sh setup" --peer "$PEER/peer.sh run"

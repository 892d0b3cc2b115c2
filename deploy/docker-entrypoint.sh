#!/usr/bin/env bash
# Entrypoint of the Bailo in Python image. The first argument chooses what the container runs:
#
#   web      (default) apply database migrations (unless BAILO_MIGRATE_ON_START=0, where a separate
#            step migrates, as deploy/kubernetes does), then serve HTTP with gunicorn on port 8000
#   worker   a Celery worker consuming the queues in CELERY_QUEUES (comma-separated; default all:
#            default, scans, purge, webhooks, mirroring)
#   beat     the Celery beat scheduler (run exactly one per deployment)
#   <other>  executed as given, e.g. `python manage.py createsuperuser` or `bash`
#
# Arguments after web/worker/beat are passed on to gunicorn or celery, so
# `docker run IMAGE worker --concurrency 4` works. A first argument that is an option (`--workers 5`)
# is taken as an option for web.
set -euo pipefail

# The project lives one level above this script (/app in the image); manage.py and the settings'
# BASE_DIR rely on running from there.
script=$(readlink -f -- "${BASH_SOURCE[0]}")
script_dir=$(dirname -- "$script")
APP_DIR=$(cd -- "$script_dir/.." && pwd -P)

if [[ $# -eq 0 ]]; then
	set -- web
elif [[ $1 == -* ]]; then
	set -- web "$@"
fi

role=$1
shift

case $role in
web)
	cd -- "$APP_DIR"
	# Migrations run before the server accepts requests, so no request meets an older schema.
	if [[ ${BAILO_MIGRATE_ON_START:-1} != 0 ]]; then
		python manage.py migrate --noinput
	fi
	# A 900 s timeout: file uploads and downloads stream through the worker for as long as they
	# take, and gunicorn would otherwise kill a sync worker after 30 s of one request. The
	# config file holds the workers' start-up hook (their task broker connection).
	exec gunicorn bailo_site.wsgi:application \
		--bind 0.0.0.0:8000 \
		--config "$APP_DIR/deploy/gunicorn.conf.py" \
		--workers "${GUNICORN_WORKERS:-3}" \
		--timeout 900 \
		--access-logfile - \
		"$@"
	;;
worker)
	cd -- "$APP_DIR"
	exec celery -A bailo_site worker \
		-Q "${CELERY_QUEUES:-default,scans,purge,webhooks,mirroring}" \
		--loglevel "${LOG_LEVEL:-INFO}" \
		"$@"
	;;
beat)
	cd -- "$APP_DIR"
	# Beat records when each schedule last ran; /app is read-only for the app user, var/ is not.
	exec celery -A bailo_site beat \
		--schedule "$APP_DIR/var/celerybeat-schedule" \
		--loglevel "${LOG_LEVEL:-INFO}" \
		"$@"
	;;
*)
	exec "$role" "$@"
	;;
esac

#!/usr/bin/env bash
# Starts the web server, a real Celery worker and beat together; Ctrl-C stops all three.
set -euo pipefail
py="$1"; host="$2"; port="$3"
celery="$(dirname "$py")/celery"
mkdir -p var/log
pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

"$celery" -A config worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
pids+=($!)
"$celery" -A config beat --loglevel=INFO >var/log/beat.log 2>&1 &
pids+=($!)

cat <<MSG

  Examhall is running at http://$host:$port/
  Admin (authoring):     http://$host:$port/admin/
  API docs:              http://$host:$port/api/docs/

  Demo logins (password: examhall):
    instructor   mrivera    (instructor of cse493g1-sp23)
    TAs          jchen, spatel
    students     $("$py" manage.py shell -v 0 -c "from accounts.models import Membership as M; print(', '.join(M.objects.filter(course__code='cse493g1-sp23', role='student').order_by('user__net_id').values_list('user__net_id', flat=True)[:5]) + ', …')" 2>/dev/null)

  Celery worker and beat are running (logs in var/log/). Ctrl-C stops everything.

MSG
"$py" manage.py runserver "$host:$port" &
pids+=($!)
wait -n "${pids[@]}"

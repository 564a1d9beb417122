#!/usr/bin/env bash
# Brings learnstream up on this machine and shows what it is for: starts Kafka and ClickHouse
# (scripts/services.sh), builds the release binary, (re)starts `learnstream serve` with
# scripts/learnstream.local.toml, imports a district's roster and competency alignments
# (scripts/sample-district/), posts the class's sample statements (scripts/sample-statements.json),
# reads every one back from ClickHouse through the LRS, and ends by showing the class's mastery
# per competency and engagement per student through the district API.
#
# learnstream keeps running afterwards on http://127.0.0.1:8080 (user dev, password dev-secret);
# `scripts/quickstart.sh stop` stops it, `scripts/services.sh down` the services.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${LEARNSTREAM_DATA_DIR:-$ROOT/.data}
PID_FILE=$DATA/learnstream.pid
LOG_FILE=$DATA/learnstream.log
CONFIG=scripts/learnstream.local.toml
LRS=http://127.0.0.1:8080
AUTH=dev:dev-secret

stop_learnstream() {
    if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        kill -TERM "$(cat "$PID_FILE")"
        while kill -0 "$(cat "$PID_FILE")" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PID_FILE"
}

if [ "${1:-}" = "stop" ]; then
    stop_learnstream
    echo "learnstream stopped"
    exit 0
fi

scripts/services.sh up
echo "== building learnstream (release)"
cargo build --release --locked -p learnstream-cli

echo "== starting learnstream serve"
stop_learnstream
mkdir -p "$DATA"
nohup target/release/learnstream --config "$CONFIG" serve >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
deadline=$((SECONDS + 60))
# /ready, not only /health: the sink has joined its consumer group and holds its partitions, so
# the first POST below is stored at once.
until curl -sf "$LRS/ready" >/dev/null; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "learnstream did not start; the end of $LOG_FILE:" >&2
        tail -20 "$LOG_FILE" >&2
        exit 1
    fi
    sleep 0.2
done
echo "learnstream serves $LRS (log $LOG_FILE)"

echo "== importing the district's roster and alignments (learnstream import)"
target/release/learnstream --config "$CONFIG" import roster --tenant demo scripts/sample-district
target/release/learnstream --config "$CONFIG" import alignments --tenant demo scripts/sample-district/alignments.csv

echo "== posting $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' scripts/sample-statements.json) sample statements"
answer=$(curl -s -w '\n%{http_code}' -u "$AUTH" -H 'X-Experience-API-Version: 1.0.3' \
    -H 'Content-Type: application/json' --data-binary @scripts/sample-statements.json "$LRS/xapi/statements")
status=${answer##*$'\n'}
ids=${answer%$'\n'*}
if [ "$status" != 200 ]; then
    echo "POST /xapi/statements answered $status: $ids" >&2
    exit 1
fi
echo "accepted: $ids"

echo "== reading them back from ClickHouse through GET /xapi/statements"
python3 - "$LRS" "$AUTH" "$ids" <<'PY'
import base64, json, sys, time, urllib.error, urllib.request

lrs, auth, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
headers = {
    "Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
    "X-Experience-API-Version": "1.0.3",
}

def fetch(statement_id):
    request = urllib.request.Request(f"{lrs}/xapi/statements?statementId={statement_id}", headers=headers)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code != 404 or time.monotonic() > deadline:
                raise SystemExit(f"GET {statement_id}: {error.code} {error.read().decode()}")
            time.sleep(0.1)

started = time.monotonic()
print(f"{'learner':<12} {'verb':<8} {'score':>5}  activity")
for statement_id in ids:
    statement = fetch(statement_id)
    learner = statement["actor"]["account"]["name"]
    verb = statement["verb"]["display"]["en-US"]
    score = statement["result"]["score"]["scaled"]
    activity = statement["object"]["definition"]["name"]["en-US"]
    print(f"{learner:<12} {verb:<8} {score:>5.2f}  {activity}")
print(f"all {len(ids)} statements read back from ClickHouse within {time.monotonic() - started:.2f} s of the POST's answer")
PY

echo "== the class's mastery and engagement (GET /district/classes/alg1-p2/...)"
python3 - "$LRS" "$AUTH" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' scripts/sample-statements.json)" <<'PY'
import base64, json, sys, time, urllib.request

lrs, auth, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}

def get(path):
    with urllib.request.urlopen(urllib.request.Request(lrs + path, headers=headers)) as response:
        return json.load(response)

deadline = time.monotonic() + 30
while True:
    mastery = get("/district/classes/alg1-p2/mastery")
    evidence = sum(c["evidence_count"] for s in mastery["students"] for c in s["competencies"])
    if evidence >= expected or time.monotonic() > deadline:
        break
    time.sleep(0.2)
engagement = {s["user_id"]: s["engagement"] for s in get("/district/classes/alg1-p2/engagement")["students"]}

competencies = [c["competency_id"] for c in mastery["competencies"]]
names = {c["competency_id"]: c["framework"] or c["competency_id"] for c in mastery["competencies"]}
print("mastery (decaying average, mastered at 0.80; * = mastered)")
print(f"{'student':<14}" + "".join(f"{names[c][:28]:>30}" for c in competencies))
for student in mastery["students"]:
    by_id = {c["competency_id"]: c for c in student["competencies"]}
    cells = []
    for competency in competencies:
        c = by_id.get(competency)
        cells.append(f"{c['value']:.2f}{'*' if c['mastered'] else ' '} ({c['evidence_count']}, {c['trend']['direction']})" if c else "not yet assessed")
    print(f"{student['given_name'] + ' ' + student['family_name']:<14}" + "".join(f"{cell:>30}" for cell in cells))
for rollup in mastery["competencies"]:
    print(f"  {names[rollup['competency_id']]}: {rollup['mastered']} of {rollup['students']} mastered, "
          f"mean {rollup['mean_value']:.2f}, {rollup['not_yet_assessed']} not yet assessed")
print()
print("engagement")
print(f"{'student':<14}{'days':>5}{'sessions':>9}{'minutes':>8}{'streak':>7}{'completion':>11}  at risk")
for student in mastery["students"]:
    e = engagement[student["user_id"]]
    rate = "-" if e["completion_rate"] is None else f"{e['completion_rate']:.0%}"
    risk = "; ".join(e["risk_reasons"]) if e["at_risk"] else "no"
    print(f"{student['given_name'] + ' ' + student['family_name']:<14}{e['active_days']:>5}{e['sessions']:>9}"
          f"{e['time_on_task_seconds'] / 60:>8.1f}{e['current_streak_days']:>7}{rate:>11}  {risk}")
PY
echo "learnstream keeps running; stop it with: scripts/quickstart.sh stop"

#!/bin/bash
# Backup figures (README, "Backups"): a release node over DIR (made by `techhire init` and
# `techhire seed`), a write load of 4 clients, `techhire backup` timed while the load runs,
# then `techhire restore` timed, and write latencies before, during and after the backup.
# Usage: TECHHIRE=target/release/techhire docs/bench/backup.sh DIR PORT, with the node's
# operator token in ./token. Writes DIR.backup, DIR.restored, DIR.load, DIR.node.log.
set -e
B=${TECHHIRE:-target/release/techhire}
DIR=$1; PORT=$2; TOKEN=$(cat token)
rm -f $DIR.backup $DIR.load $DIR.load.stop; rm -rf $DIR.restored
$B run --data-dir $DIR --http-listen 127.0.0.1:$PORT > $DIR.node.log 2>&1 &
NODE=$!
until grep -q "Listening on" $DIR.node.log; do sleep 0.2; done
python3 "$(dirname "$0")/backup-load.py" 127.0.0.1 $PORT $TOKEN 4 $DIR.load &
LOAD=$!
sleep 3
T0=$(date +%s.%N)
/usr/bin/time -f "backup command: %e s, %M KB max RSS" $B backup --out $DIR.backup --url http://127.0.0.1:$PORT --token $TOKEN
T1=$(date +%s.%N)
sleep 3
touch $DIR.load.stop; wait $LOAD
echo "backup window: $T0 $T1"
ls -l $DIR.backup
kill -TERM $NODE; wait $NODE || true
grep -i "backup" $DIR.node.log | tail -3
/usr/bin/time -f "restore: %e s, %M KB max RSS" $B restore $DIR.backup --data-dir $DIR.restored --key $DIR/node.key --config $DIR/config.toml
du -sh $DIR.restored/db
python3 - $DIR.load $T0 $T1 <<'PY'
import json, sys
rows=[json.loads(l) for l in open(sys.argv[1])]
t0,t1=float(sys.argv[2]),float(sys.argv[3])
def stats(name, xs):
    xs=sorted(x[1]*1e3 for x in xs)
    if not xs: print(name, "none"); return
    p=lambda q: xs[min(len(xs)-1,int(q*len(xs)))]
    print(f"{name}: {len(xs)} writes, p50 {p(.5):.2f} ms, p99 {p(.99):.2f} ms, max {xs[-1]:.2f} ms")
assert all(r[2]==201 for r in rows), "a write failed"
stats("writes before the backup", [r for r in rows if r[0]+r[1] < t0])
stats("writes during the backup", [r for r in rows if r[0] >= t0 and r[0] < t1])
stats("writes after the backup", [r for r in rows if r[0] >= t1])
span=t1-t0
print(f"during: {len([r for r in rows if r[0] >= t0 and r[0] < t1])/span:.0f} writes/s over {span:.1f} s")
PY

# Write load for the backup figures: N threads POST candidates over keep-alive HTTP and
# record (start, latency) of each; stops when the file STOP exists. Prints JSON lines.
import http.client, json, os, sys, threading, time
host, port, token, threads, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
stop = out + ".stop"
res = []
lock = threading.Lock()
def worker(w):
    c = http.client.HTTPConnection(host, port)
    i = 0
    while not os.path.exists(stop):
        body = json.dumps({"personal": {"name": f"Load {w} {i}", "email": f"l{w}x{i}@example.net"},
            "profile": {"skills": [{"skill": "SQL", "level": "beginner", "evidence": "self_reported"}]}})
        t0 = time.time()
        c.request("POST", "/api/v1/candidates", body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        t1 = time.time()
        with lock: res.append((t0, t1 - t0, r.status))
        i += 1
ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
with open(out, "w") as f:
    for r in res: f.write(json.dumps(r) + "\n")

"""A field gateway written with the NATS project's own Python client (nats-py, PyPI), not
Binjiang's code: publishes SensorThings observations to a district's subject on JetStream,
each with a message id, retries one (the bus keeps one copy), then reads the district's
latest KPIs as a city dashboard would.

    python3 tests/nats/gateway.py nats://127.0.0.1:4222 tiny-river 20
Prints "published N", "duplicate folded" and "kpis <district> <units on duty>".
"""
import asyncio
import datetime
import json
import sys

import nats


async def main(url: str, district: str, n: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    subject = f"binjiang.{district}.observations"
    now = datetime.datetime.now(datetime.timezone.utc)
    seqs = []
    for k in range(n):
        t = (now + datetime.timedelta(milliseconds=k)).isoformat(timespec="milliseconds")
        body = {"Datastream": {"@iot.id": 1 + k % 3}, "result": float(k % 50),
                "phenomenonTime": t.replace("+00:00", "Z")}
        ack = await js.publish(subject, json.dumps(body).encode(),
                               headers={"Nats-Msg-Id": f"py-gateway-{k}"})
        seqs.append(ack.seq)
    print(f"published {len(seqs)}")
    again = await js.publish(subject, b"{}", headers={"Nats-Msg-Id": "py-gateway-0"})
    if again.duplicate and again.seq == seqs[0]:
        print("duplicate folded")
    jsm = nc.jsm()
    for _ in range(100):
        try:
            msg = await jsm.get_last_msg("BINJIANG_KPIS", f"binjiang.{district}.kpis")
            kpis = json.loads(msg.data)
            on_duty = sum(a["units_on_duty"] for a in kpis["kpis"]["now_per_agency"].values())
            print(f"kpis {kpis['district']} {on_duty}")
            break
        except Exception:  # not published yet
            await asyncio.sleep(0.2)
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

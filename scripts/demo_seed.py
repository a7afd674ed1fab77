#!/usr/bin/env python3
"""Seeds a personae store for the web demo through the running server's API (standard library only).

Creates two data sources (web, and a CRM of purchases carrying a DEC label), one rule-based
trait per card of web-demo/cards.json (c_card == "<card id>"), four baseline traits (the
personas: bought Apple, Samsung, Google Pixel, HP), an edge destination for the page, a model;
then generates a realistic audience with `personae gen`, maps its traits onto those trait ids
(each persona's cards take the generated traits that point most to that persona; the other
generated traits become onboarded browsing traits), onboards it with timestamps moved to end
an hour ago, and trains the model now. Prints one JSON line (ids, card -> trait, persona ->
baseline) and writes it to --out.

usage: demo_seed.py --url http://127.0.0.1:8080 --key pk_... --personae build/release/personae
                    [--cards web-demo/cards.json] [--users 6000] [--seed 7] [--work DIR] [--out FILE]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--personae", required=True)
    ap.add_argument("--cards", default=os.path.join(here, "..", "web-demo", "cards.json"))
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--traits", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pn-demo-seed-")
    os.makedirs(work, exist_ok=True)
    api = a.url.rstrip("/") + "/api/v1"

    def call(method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(api + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + a.key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            sys.exit(f"demo_seed: {method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}")

    cards = json.load(open(a.cards))
    slugs = list(cards["personas"])

    # 1. the audience
    aud = os.path.join(work, "audience")
    subprocess.run([a.personae, "gen", "--users", str(a.users), "--personas", str(len(slugs)), "--traits",
                    str(a.traits), "--seed", str(a.seed), "--out", aud], check=True, stdout=sys.stderr)
    gen_model = json.load(open(os.path.join(aud, "model.json")))
    gen_personas = [b.split(":", 1)[1] for b in gen_model["baselines"]]
    if sorted(gen_personas) != sorted(slugs):
        sys.exit(f"demo_seed: personae gen made personas {gen_personas}, cards.json describes {slugs}")
    events = []
    persona_of = {}
    with open(os.path.join(aud, "events.tsv")) as f:
        for line in f:
            uuid, trait, ts = line.rstrip("\n").split("\t")
            events.append((uuid, trait, int(ts)))
            if trait.startswith("persona:"):
                persona_of[uuid] = trait.split(":", 1)[1]

    # 2. which generated traits the cards stand for: per persona, the traits its known visitors
    # realize most often relative to everyone else (visitors, not events), with enough support
    seen = collections.defaultdict(set)
    for uuid, trait, _ in events:
        if not trait.startswith("persona:") and uuid in persona_of:
            seen[trait].add(uuid)
    totals = collections.Counter(persona_of.values())
    share = {}
    for trait, us in seen.items():
        per = collections.Counter(persona_of[u] for u in us)
        share[trait] = {p: per[p] / totals[p] for p in slugs}
    card_trait = {}
    used = set()
    for rnd in range(3):
        for p in slugs:
            mine = [c for c in cards["cards"] if c["for"] == p]
            if rnd >= len(mine):
                continue
            best = max((t for t in share if t not in used and len(seen[t]) >= 40),
                       key=lambda t: share[t][p] / (1e-3 + max(share[t][q] for q in slugs if q != p)))
            used.add(best)
            card_trait[mine[rnd]["id"]] = best
    neutral = [c for c in cards["cards"] if not c["for"]]
    even = sorted((t for t in share if t not in used), key=lambda t: -len(seen[t]))
    for c, t in zip(neutral, even):
        card_trait[c["id"]] = t
        used.add(t)

    # 3. the catalog
    web = call("POST", "/data-sources", {"name": "web", "id_type": "device", "dec_labels": []})["id"]
    crm = call("POST", "/data-sources", {"name": "crm purchases", "id_type": "device",
                                          "dec_labels": ["offsite_advertising"]})["id"]
    dest = call("POST", "/destinations", {"name": "shop page (web demo)", "type": "edge",
                                          "dec_labels": ["onsite_personalization"]})["id"]
    trait_id = {}
    baselines = {}
    for p in slugs:
        t = call("POST", "/traits", {"name": cards["personas"][p]["name"], "data_source_id": crm, "kind": "onboarded"})
        trait_id["persona:" + p] = baselines[p] = t["id"]
    card_ids = {}
    for c in cards["cards"]:
        t = call("POST", "/traits", {"name": "card: " + c["title"], "data_source_id": web, "kind": "rule",
                                     "rule": f'c_card == "{c["id"]}"'})
        card_ids[c["id"]] = t["id"]
        trait_id[card_trait[c["id"]]] = t["id"]
    for trait in sorted({t for _, t, _ in events}):
        if trait not in trait_id:
            kind, n = trait.split(":", 1)
            t = call("POST", "/traits", {"name": f"{kind} {n}", "data_source_id": web, "kind": "onboarded"})
            trait_id[trait] = t["id"]

    # 4. onboard, ending an hour ago
    shift = int(time.time()) - 3600 - max(ts for _, _, ts in events)
    lines = [f"{u}\t{trait_id[t]}\t{ts + shift}\n" for u, t, ts in events]
    accepted = 0
    for i in range(0, len(lines), 200000):
        o = call("POST", "/onboard", raw="".join(lines[i:i + 200000]).encode())
        if o["rejected"]:
            sys.exit(f"demo_seed: onboarding rejected lines: {o['errors'][:3]}")
        accepted += o["accepted"]

    # 5. the model, trained now
    m = call("POST", "/models", {"name": "brand affinity", "baselines": [baselines[p] for p in slugs], "target": None,
                                 "data_source_id": web, "lookback_days": 90})
    m = call("POST", f"/models/{m['id']}/train?wait=true")
    if m["status"] not in ("active", "warning"):
        sys.exit(f"demo_seed: training failed: {m}")
    out = {"model_id": m["id"], "status": m["status"], "destination_id": dest, "data_sources": {"web": web, "crm": crm},
           "baselines": baselines, "cards": card_ids, "card_stands_for": card_trait, "events": accepted, "work": work}
    text = json.dumps(out)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

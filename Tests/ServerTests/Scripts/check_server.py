#!/usr/bin/env python3
"""Checks a running `ppd serve` from the outside, as its users' clients would.

    check_server.py api  --url URL --expect FILE   OpenAI client, streaming and not; every bad-request class
    check_server.py load --url URL --expect FILE   16 clients x 8 requests, mixed, some disconnecting early
    check_server.py page --url URL --expect FILE [--screenshot PNG]   the web page in headless Chromium

FILE (JSON, written by the Swift test) holds the model id and the greedy texts the server must return.
Exits 0 when every check passes; prints each failure and exits 1 otherwise.
"""
import argparse
import asyncio
import json
import sys
import time

import httpx
import openai

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, flush=True)


def health(url):
    return httpx.get(url + "/health", timeout=10).json()


# ---------------------------------------------------------------- api


def check_api(url, expect):
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    model = expect["model"]

    models = client.models.list()
    check([m.id for m in models.data] == [model], f"/v1/models lists {[m.id for m in models.data]}, not [{model}]")

    for case in expect["completions"]:
        for decoding in ["ppd", "plain"]:
            done = client.completions.create(
                model=model, prompt=case["prompt"], max_tokens=case["max_tokens"], temperature=0,
                extra_body={"decoding": decoding})
            check(done.choices[0].text == case["text"],
                  f"completion ({decoding}) of {case['prompt']!r}: {done.choices[0].text!r} != {case['text']!r}")
            check(done.usage.completion_tokens == case["tokens"],
                  f"completion ({decoding}) usage.completion_tokens {done.usage.completion_tokens} != {case['tokens']}")
            check(done.usage.prompt_tokens == case["prompt_tokens"], f"usage.prompt_tokens {done.usage.prompt_tokens}")
            report = done.model_extra["ppd"]
            check(report["decoding"] == decoding, f"ppd.decoding {report['decoding']} != {decoding}")
            check(sum(report["step_tokens"]) + 1 == case["tokens"], f"ppd.step_tokens {report['step_tokens']} do not add up")
            if decoding == "plain":
                check(set(report["step_rows"]) <= {1}, f"plain decoding used rows {report['step_rows']}")

        pieces, steps, usage = [], [], None
        stream = client.completions.create(
            model=model, prompt=case["prompt"], max_tokens=case["max_tokens"], temperature=0, stream=True,
            stream_options={"include_usage": True}, extra_body={"decoding": "ppd"})
        finish = None
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            if chunk.choices:
                pieces.append(chunk.choices[0].text)
                finish = chunk.choices[0].finish_reason or finish
                extra = (chunk.model_extra or {}).get("ppd") or {}
                if "step" in extra:
                    steps.append(extra)
        check("".join(pieces) == case["text"], f"streamed completion {''.join(pieces)!r} != {case['text']!r}")
        check(finish == case["finish_reason"], f"streamed finish_reason {finish} != {case['finish_reason']}")
        check(usage is not None and usage.completion_tokens == case["tokens"], f"streamed usage {usage}")
        check(sum(s["tokens"] for s in steps) == case["tokens"], f"streamed steps carry {sum(s['tokens'] for s in steps)} tokens")
        check(any(s["tokens"] > 1 for s in steps), "no PPD step accepted a guess in a streamed completion")

    chat = expect["chat"]
    done = client.chat.completions.create(
        model=model, messages=chat["messages"], max_tokens=chat["max_tokens"], temperature=0)
    check(done.choices[0].message.content == chat["text"], f"chat {done.choices[0].message.content!r} != {chat['text']!r}")
    check(done.choices[0].message.role == "assistant", "chat message role")
    check(done.choices[0].finish_reason == chat["finish_reason"], f"chat finish_reason {done.choices[0].finish_reason}")
    stream = client.chat.completions.create(
        model=model, messages=chat["messages"], max_tokens=chat["max_tokens"], temperature=0, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    check("".join(pieces) == chat["text"], f"streamed chat {''.join(pieces)!r} != {chat['text']!r}")

    stops = client.completions.create(
        model=model, prompt=expect["completions"][0]["prompt"], max_tokens=expect["completions"][0]["max_tokens"],
        temperature=0, stop=[expect["stop"]["sequence"]])
    check(stops.choices[0].text == expect["stop"]["text"], f"stop sequence: {stops.choices[0].text!r} != {expect['stop']['text']!r}")
    check(stops.choices[0].finish_reason == "stop", "stop sequence finish_reason")

    sampled = [client.completions.create(model=model, prompt="Once upon a time", max_tokens=16, temperature=0.8, seed=7,
                                         extra_body={"decoding": decoding, "policy": "rejection"}).choices[0].text
               for decoding in ["ppd", "ppd"]]
    check(sampled[0] == sampled[1], f"the same seed gave different samples: {sampled}")

    check_errors(url, model)


def check_errors(url, model):
    def post(path, content, status, code=None, param=None, what=""):
        response = httpx.post(url + path, content=content, headers={"Content-Type": "application/json"}, timeout=60)
        check(response.status_code == status, f"{what}: status {response.status_code} != {status} ({response.text[:200]})")
        try:
            error = response.json()["error"]
            check(isinstance(error["message"], str) and error["message"], f"{what}: no error message")
            if code:
                check(error["code"] == code, f"{what}: code {error['code']} != {code}")
            if param:
                check(error["param"] == param, f"{what}: param {error['param']} != {param}")
        except Exception as exc:  # noqa: BLE001 - any non-JSON body is the failure being reported
            check(False, f"{what}: the body is not a JSON error ({exc}): {response.text[:200]!r}")
        check(health(url)["status"] == "ok", f"{what}: the server stopped answering /health")

    good = {"model": model, "prompt": "Hello", "max_tokens": 4}
    post("/v1/completions", b"{not json", 400, code="invalid_json", what="invalid JSON")
    post("/v1/completions", b"[1, 2]", 400, code="invalid_json", what="a JSON array body")
    post("/v1/completions", json.dumps({**good, "max_tokens": "4"}), 400, param="max_tokens", what="max_tokens a string")
    post("/v1/completions", json.dumps({**good, "temperature": "hot"}), 400, param="temperature", what="temperature a string")
    post("/v1/completions", json.dumps({**good, "stream": 1}), 400, param="stream", what="stream a number")
    post("/v1/completions", json.dumps({**good, "prompt": 5}), 400, param="prompt", what="prompt a number")
    post("/v1/completions", json.dumps({k: v for k, v in good.items() if k != "prompt"}), 400, param="prompt", what="no prompt")
    post("/v1/chat/completions", json.dumps({"model": model, "messages": [{"role": "robot", "content": "hi"}]}), 400,
         param="messages[0].role", what="unknown role")
    post("/v1/completions", json.dumps({**good, "model": "gpt-4"}), 404, code="model_not_found", what="unknown model")
    post("/v1/completions", json.dumps({**good, "prompt": [2] * 40000}), 400, code="context_length_exceeded",
         what="prompt over the context")
    post("/v1/completions", json.dumps({**good, "max_tokens": 10**6}), 400, param="max_tokens", what="max_tokens too large")
    post("/v1/completions", json.dumps({**good, "n": 3}), 400, param="n", what="n > 1")
    post("/v1/completions", json.dumps({**good, "temperature": 0.7, "policy": "greedy"}), 400, param="policy",
         what="greedy policy with a temperature")
    post("/v1/completions", json.dumps({**good, "prompt": "x" * (3 << 20)}), 413, code="request_too_large", what="body too large")
    response = httpx.get(url + "/v1/nothing", timeout=10)
    check(response.status_code == 404 and "error" in response.json(), f"unknown route: {response.status_code} {response.text[:100]}")
    response = httpx.get(url + "/v1/completions", timeout=10)
    check(response.status_code in (404, 405) and "error" in response.json(), f"GET on a POST route: {response.status_code}")
    done = httpx.post(url + "/v1/completions", json=good, timeout=60)
    check(done.status_code == 200, f"a good request after the bad ones: {done.status_code}")


# ---------------------------------------------------------------- load


async def check_load(url, expect, clients=16, requests_per_client=8):
    model = expect["model"]
    cases = expect["completions"]
    results = {"ok": 0, "rejected": 0, "disconnected": 0, "wrong": []}
    aclient = openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)

    async def with_retry(call):
        while True:
            try:
                return await call()
            except openai.RateLimitError:
                results["rejected"] += 1
                await asyncio.sleep(0.2)
            except httpx.HTTPStatusError as error:
                if error.response.status_code != 429:
                    raise
                results["rejected"] += 1
                await asyncio.sleep(0.2)

    async def one(http, client_index, request_index):
        case = cases[(client_index + request_index) % len(cases)]
        kind = (client_index * 3 + request_index) % 5
        body = {"model": model, "prompt": case["prompt"], "max_tokens": case["max_tokens"], "temperature": 0,
                "decoding": "ppd" if request_index % 2 == 0 else "plain"}
        if kind == 0:
            async def call():
                done = await aclient.completions.create(model=model, prompt=case["prompt"], max_tokens=case["max_tokens"],
                                                        temperature=0, extra_body={"decoding": body["decoding"]})
                return done.choices[0].text
        elif kind == 1:
            async def call():
                stream = await aclient.completions.create(model=model, prompt=case["prompt"], max_tokens=case["max_tokens"],
                                                          temperature=0, stream=True, extra_body={"decoding": body["decoding"]})
                return "".join([c.choices[0].text async for c in stream if c.choices])
        elif kind == 2:
            async def call():
                response = await http.post(url + "/v1/completions", json=body)
                response.raise_for_status()
                return response.json()["choices"][0]["text"]
        elif kind == 3:
            async def call():
                pieces = []
                async with http.stream("POST", url + "/v1/completions", json={**body, "stream": True}) as response:
                    response.raise_for_status()
                    async for line in response.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            chunk = json.loads(line[6:])
                            check("error" not in chunk, f"stream error {chunk}")
                            pieces.extend(c["text"] for c in chunk.get("choices", []))
                return "".join(pieces)
        else:
            async def call():
                async with http.stream("POST", url + "/v1/completions",
                                       json={**body, "max_tokens": 400, "stream": True, "prompt": "List the numbers from 1 to 500:"}) as response:
                    response.raise_for_status()
                    seen = 0
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            seen += 1
                        if seen >= 3:
                            break
                return None
        text = await with_retry(call)
        if kind == 4:
            results["disconnected"] += 1
        elif text == case["text"]:
            results["ok"] += 1
        else:
            results["wrong"].append((case["prompt"], text))

    async def client(index):
        async with httpx.AsyncClient(timeout=300) as http:
            for request_index in range(requests_per_client):
                await one(http, index, request_index)

    # Warm up with one request of every kind from every client (first requests allocate caches,
    # logits buffers and the threads' allocator arenas).
    async def warm(index):
        async with httpx.AsyncClient(timeout=300) as http:
            await one(http, index, 0)
            await one(http, index, 1)
    await asyncio.gather(*[warm(i) for i in range(clients)])

    async def drained():
        for _ in range(600):
            state = health(url)
            if state["statistics"]["queued"] == 0 and not state["statistics"]["running"]:
                return state
            await asyncio.sleep(0.1)
        return health(url)

    # Three identical rounds, each checking every answer and the counts. A leak grows memory in
    # every round; buffers sized by the widest step seen so far (1 MiB of logits per row) grow
    # once, in whichever round first meets a wider step (the steps of a request that disconnects
    # depend on when the server notices).
    total = clients * requests_per_client
    memory = []
    for round_index in range(3):
        results.update(ok=0, rejected=0, disconnected=0, wrong=[])
        before = await drained()
        start = time.time()
        await asyncio.gather(*[client(i) for i in range(clients)])
        elapsed = time.time() - start
        after = await drained()
        b, a = before["statistics"], after["statistics"]
        memory.append(after["memory"]["resident_bytes"] / 2**20)
        print(f"load round {round_index + 1}: {total} requests in {elapsed:.1f} s; {results['ok']} correct, "
              f"{results['disconnected']} disconnected early, {results['rejected']} answered 429 and retried; server: accepted "
              f"{a['accepted'] - b['accepted']}, completed {a['completed'] - b['completed']}, cancelled {a['cancelled'] - b['cancelled']}, "
              f"failed {a['failed'] - b['failed']}; resident memory {before['memory']['resident_bytes'] / 2**20:.1f} -> {memory[-1]:.1f} MiB",
              flush=True)
        check(not results["wrong"], f"round {round_index + 1}: wrong texts: {results['wrong'][:3]}")
        check(results["ok"] + results["disconnected"] == total, f"round {round_index + 1}: {total - results['ok'] - results['disconnected']} requests lost")
        check(results["rejected"] > 0, "no request was answered 429 although 16 clients share a queue of fewer places")
        accepted = a["accepted"] - b["accepted"]
        check(accepted == total, f"the server accepted {accepted} requests, not {total}")
        check(a["completed"] - b["completed"] + a["cancelled"] - b["cancelled"] == accepted,
              "accepted requests that neither completed nor were cancelled")
        check(a["cancelled"] - b["cancelled"] >= 1, "no disconnect cancelled its generation")
        check(a["failed"] == b["failed"] and a["timed_out"] == b["timed_out"], "requests failed or timed out under load")
    growths = [memory[1] - memory[0], memory[2] - memory[1]]
    check(min(growths) < 4, f"resident memory grew in every round: {', '.join(f'{g:.1f}' for g in growths)} MiB")
    check(memory[2] - memory[0] < 48, f"resident memory grew by {memory[2] - memory[0]:.1f} MiB over the rounds")
    check(health(url)["status"] == "ok", "the server is not alive after the load")


# ---------------------------------------------------------------- page


def check_page(url, expect, screenshot):
    from playwright.sync_api import sync_playwright

    case = expect["completions"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=expect.get("chromium", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        console_errors = []
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('model-line').textContent.includes('PPD')", timeout=20000)
        check(expect["model"] in page.inner_text("#model-line"), "the page does not name the model")
        page.fill("#prompt", case["prompt"])
        page.fill("#max-tokens", str(case["max_tokens"]))
        page.check("input[name=decoding][value=ppd]")
        page.click("#generate")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('finished')", timeout=60000)
        text = page.inner_text("#output")
        check(text == case["text"], f"page text {text!r} != {case['text']!r}")
        marks = page.eval_on_selector_all("#output .step", "spans => spans.map(s => [Number(s.dataset.tokens), s.title])")
        check(len(marks) > 1, f"{len(marks)} step marks on the page")
        check(any(tokens > 1 for tokens, _ in marks), "no mark shows a step that accepted guesses")
        check(all("rows" in title and "tau" in title for _, title in marks), "a mark's hover text lacks rows or tau")
        tau = float(page.inner_text("#tau"))
        check(tau > 1, f"the page's tau readout is {tau}")
        check(float(page.inner_text("#rate")) > 0, "the page's tokens/s readout is empty")
        if screenshot:
            page.screenshot(path=screenshot, full_page=True)
        page.check("input[name=decoding][value=plain]")
        page.click("#generate")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('finished')", timeout=60000)
        check(page.inner_text("#output") == case["text"], "plain decoding on the page gave another text")
        check(float(page.inner_text("#tau")) == 1, "plain decoding's tau is not 1")
        check("last ppd" in page.inner_text("#compare") and "last plain" in page.inner_text("#compare"),
              "the page does not compare the last PPD and plain runs")
        check(not console_errors, f"script errors on the page: {console_errors}")
        browser.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["api", "load", "page"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--expect", required=True)
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    with open(args.expect) as f:
        expect = json.load(f)
    if args.part == "api":
        check_api(args.url, expect)
    elif args.part == "load":
        asyncio.run(check_load(args.url, expect))
    else:
        check_page(args.url, expect, args.screenshot)
    if failures:
        print(f"{len(failures)} checks failed", flush=True)
        sys.exit(1)
    print(f"{args.part}: all checks passed", flush=True)


if __name__ == "__main__":
    main()

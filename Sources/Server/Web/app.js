// The page of `ppd serve`: sends the prompt to the server's OpenAI-style endpoints with
// stream: true and shows each step's text as one mark (colour by tokens per step, details on
// hover), with a live tokens/s and tau readout. No libraries: the machine may have no internet.
"use strict";

const $ = (id) => document.getElementById(id);
const output = $("output");
let controller = null;
let model = null;
const lastRuns = {};

async function loadModel() {
  try {
    const health = await (await fetch("/health")).json();
    model = health.model;
    $("model-line").textContent =
      `${health.model} · PPD ${health.ppd_available ? `with ${health.prompt_tokens} prompt tokens` : "unavailable"}` +
      `${health.drafter ? ` + ${health.drafter}` : ""} · default ${health.default_decoding} · context ${health.context_length}`;
    if (!health.ppd_available) {
      document.querySelector("input[name=decoding][value=plain]").checked = true;
      document.querySelector("input[name=decoding][value=ppd]").disabled = true;
    }
  } catch (error) {
    $("model-line").textContent = `cannot reach the server: ${error}`;
  }
}

function choice(name) {
  return document.querySelector(`input[name=${name}]:checked`).value;
}

function requestBody() {
  const body = {
    model: model || undefined,
    max_tokens: Number($("max-tokens").value),
    temperature: Number($("temperature").value),
    top_p: Number($("top-p").value),
    top_k: Number($("top-k").value),
    seed: Number($("seed").value),
    stream: true,
    decoding: choice("decoding"),
  };
  if ($("policy").value) body.policy = $("policy").value;
  if (choice("endpoint") === "chat") body.messages = [{ role: "user", content: $("prompt").value }];
  else body.prompt = $("prompt").value;
  return body;
}

// Splits a server-sent-event stream into the JSON payloads of its `data:` lines.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

function chunkText(chunk) {
  const choice = chunk.choices && chunk.choices[0];
  if (!choice) return "";
  if (choice.delta) return choice.delta.content || "";
  return choice.text || "";
}

function addMark(text, step, tauSoFar) {
  const span = document.createElement("span");
  span.textContent = text;
  if (step) {
    span.className = `step n${Math.min(step.tokens, 5)}`;
    span.dataset.step = step.step;
    span.dataset.tokens = step.tokens;
    span.dataset.rows = step.rows;
    const drafted = step.draft_rows > 0 ? `, ${step.accepted_drafted} of ${step.draft_rows} drafted rows accepted` : "";
    span.title = step.step === 0
      ? `prefill: 1 token from ${step.rows} rows (prompt and prompt tokens), ${(step.seconds * 1000).toFixed(1)} ms; tau so far -`
      : `step ${step.step}: ${step.tokens} token${step.tokens === 1 ? "" : "s"}, ${step.rows} rows${drafted}, ` +
        `${(step.seconds * 1000).toFixed(1)} ms; tau so far ${tauSoFar.toFixed(2)}`;
  }
  output.appendChild(span);
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function showRun(decoding, rate, tau, steps, tokens) {
  $("rate").textContent = rate.toFixed(1);
  $("tau").textContent = tau.toFixed(2);
  $("steps").textContent = steps;
  $("tokens").textContent = tokens;
  lastRuns[decoding] = { rate, tau };
  $("compare").textContent = Object.entries(lastRuns)
    .map(([name, run]) => `last ${name}: ${run.rate.toFixed(1)} tokens/s, tau ${run.tau.toFixed(2)}`)
    .join(" · ");
}

async function generate(event) {
  event.preventDefault();
  output.textContent = "";
  setStatus("", false);
  $("generate").disabled = true;
  $("stop").disabled = false;
  controller = new AbortController();
  const body = requestBody();
  const path = choice("endpoint") === "chat" ? "/v1/chat/completions" : "/v1/completions";
  let steps = 0, tokens = 0, seconds = 0;
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) {
      const error = await response.json();
      throw new Error(`${response.status}: ${error.error.message}`);
    }
    for await (const chunk of events(response)) {
      if (chunk.error) throw new Error(chunk.error.message);
      const step = chunk.ppd && chunk.ppd.step !== undefined ? chunk.ppd : null;
      if (step && step.step > 0) {
        steps += 1;
        tokens += step.tokens;
        seconds += step.seconds;
      }
      const text = chunkText(chunk);
      if (text || step) addMark(text, step, steps > 0 ? tokens / steps : 0);
      if (chunk.ppd && chunk.ppd.decode_tokens_per_second !== undefined) {
        const report = chunk.ppd;
        showRun(report.decoding, report.decode_tokens_per_second, report.tokens_per_step, report.steps,
          report.step_tokens.reduce((a, b) => a + b, 0) + 1);
        setStatus(`finished: ${chunk.choices[0].finish_reason}`, false);
      } else if (steps > 0) {
        $("rate").textContent = (tokens / seconds).toFixed(1);
        $("tau").textContent = (tokens / steps).toFixed(2);
        $("steps").textContent = steps;
        $("tokens").textContent = tokens + 1;
      }
    }
  } catch (error) {
    if (error.name === "AbortError") setStatus("stopped", false);
    else setStatus(String(error.message || error), true);
  } finally {
    $("generate").disabled = false;
    $("stop").disabled = true;
    controller = null;
  }
}

$("settings").addEventListener("submit", generate);
$("stop").addEventListener("click", () => controller && controller.abort());
loadModel();

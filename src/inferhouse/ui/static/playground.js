// Streams a playground's generation: a form with data-stream is posted there (with its CSRF field) and
// the dashboard's events are shown as they arrive. Text goes in through textContent only, never as markup.
// Without this script the same form posts to its action and the page shows the whole reply.
(function () {
  "use strict";

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function showCode(target, code) {
    target.append(element("h4", "", "The same call in code"));
    const hint = element("p", "hint", "Set INFERHOUSE_TOKEN to your token first.");
    target.append(hint);
    Object.keys(code).forEach(function (language, index) {
      const details = element("details");
      details.open = index === 0;
      details.append(element("summary", "", language));
      const pre = element("pre", "snippet");
      pre.dataset.language = language;
      pre.append(element("code", "", code[language]));
      details.append(pre);
      target.append(details);
    });
  }

  function parse(block) {
    let kind = "message";
    const data = [];
    block.split("\n").forEach(function (line) {
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trim());
    });
    return { kind: kind, data: data.length ? JSON.parse(data.join("\n")) : {} };
  }

  async function stream(form) {
    const target = document.getElementById(form.dataset.output);
    const text = element("pre", "generated");
    text.id = form.dataset.output.replace(/-result$/, "-text");
    text.dataset.state = "streaming";
    target.replaceChildren(text);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    function fail(message) {
      text.dataset.state = "error";
      const alert = element("p", "error", message);
      alert.setAttribute("role", "alert");
      target.append(alert);
    }
    try {
      const reply = await fetch(form.dataset.stream, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
        headers: { Accept: "text/event-stream" },
      });
      const type = reply.headers.get("content-type") || "";
      if (reply.redirected) { window.location.assign(reply.url); return; }
      if (!reply.ok || !type.startsWith("text/event-stream")) { fail("The dashboard answered HTTP " + reply.status + ": reload the page and try again."); return; }
      const reader = reply.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        pending += decoder.decode(chunk.value, { stream: true });
        const blocks = pending.split("\n\n");
        pending = blocks.pop();
        blocks.forEach(function (block) {
          const event = parse(block);
          if (event.kind === "token") text.append(document.createTextNode(event.data.text));
          else if (event.kind === "error") fail(event.data.message);
          else if (event.kind === "done") { text.dataset.state = "done"; showCode(target, event.data.code); }
        });
      }
    } catch (problem) {
      fail("The stream broke off: " + problem);
    } finally {
      button.disabled = false;
      if (text.dataset.state === "streaming") text.dataset.state = "done";
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.stream && window.ReadableStream) {
      event.preventDefault();
      stream(form);
    }
  });
})();

// Renders /api/openapi.json as a filterable list of operations, with their schemas resolved one level.
(async () => {
  const doc = await (await fetch("/api/openapi.json")).json();
  const schemas = doc.components.schemas;
  const ops = document.getElementById("ops");
  const resolve = (s) => (s && s.$ref ? { name: s.$ref.split("/").pop(), ...schemas[s.$ref.split("/").pop()] } : s);
  const rows = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const el = document.createElement("details");
      const summary = document.createElement("summary");
      summary.innerHTML = `<span class="m ${method}">${method.toUpperCase()}</span>`;
      summary.append(path);
      const s = document.createElement("span");
      s.className = "s";
      s.textContent = op.summary || "";
      summary.append(s);
      el.append(summary);
      const body = op.requestBody && resolve(Object.values(op.requestBody.content)[0].schema);
      const detail = {
        parameters: op.parameters, requestBody: body,
        responses: Object.fromEntries(Object.entries(op.responses).map(([code, r]) => [code, r.description])),
      };
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(detail, null, 2);
      el.append(pre);
      ops.append(el);
      rows.push([`${method} ${path} ${op.summary || ""}`.toLowerCase(), el]);
    }
  }
  document.getElementById("filter").addEventListener("input", (e) => {
    const q = e.target.value.toLowerCase();
    for (const [text, el] of rows) el.style.display = text.includes(q) ? "" : "none";
  });
})();

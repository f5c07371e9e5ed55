/* 网格通: the grid worker's phone app. Plain JS, no framework, no inline handlers (CSP).
   State: IndexedDB "gridgov-m" with two stores — "grid" (the last pull: today's list, masked people,
   cases, catalogues) and "outbox" (everything recorded on the phone, in order, until the server
   answers). An outbox item: {seq, client_id, kind, recorded_at, data, title, status: waiting|sent|
   refused, code, message, ref}. Sent items stay listed until the worker clears them. */
(function () {
  "use strict";
  const body = document.body;
  const API = body.dataset.api;
  const BATCH_BYTES = 1500000; // under Django's 2.5 MB request limit, photos included
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v == null) continue;
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
    }
    for (const kid of kids.flat()) if (kid != null) node.append(kid.nodeType ? kid : document.createTextNode(kid));
    return node;
  };

  // --- IndexedDB --------------------------------------------------------------------------------------
  let dbPromise = null;
  function db() {
    if (!dbPromise) dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open("gridgov-m", 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("grid");
        req.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  }
  async function tx(store, mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(store, mode);
      const result = fn(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
    });
  }
  const getGrid = () => tx("grid", "readonly", (s) => s.get("data"));
  const putGrid = (data) => tx("grid", "readwrite", (s) => s.put(data, "data"));
  const outboxAll = () => tx("outbox", "readonly", (s) => s.getAll());
  const outboxPut = (item) => tx("outbox", "readwrite", (s) => s.put(item));
  const outboxDelete = (seq) => tx("outbox", "readwrite", (s) => s.delete(seq));

  // --- state -------------------------------------------------------------------------------------------
  let grid = null;
  let tab = "visits";
  let syncing = false;

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function banner(text, kind) {
    const b = $("#banner");
    b.textContent = text || ""; b.hidden = !text; b.className = "banner " + (kind || "");
  }

  // --- photos and position --------------------------------------------------------------------------------
  // A phone photo is 3-8 MB; on the phone it becomes a JPEG of at most 1280 px (about 100-250 KB).
  function compressPhoto(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const scale = Math.min(1, 1280 / Math.max(img.naturalWidth, img.naturalHeight));
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", 0.7));
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("照片无法读取")); };
      img.src = url;
    });
  }
  // The browser's fix is WGS84; a map SDK's would be GCJ-02 and is sent with crs "gcj02".
  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: Math.round(p.coords.accuracy * 10) / 10, crs: "wgs84" }),
        () => resolve(null), { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    });
  }

  // --- outbox and sync --------------------------------------------------------------------------------------
  async function enqueue(kind, title, data) {
    await outboxPut({ client_id: uuid(), kind, title, data, recorded_at: new Date().toISOString(), status: "waiting" });
    await refreshCount();
    banner("已保存到待发送，" + (navigator.onLine ? "正在发送…" : "有信号时自动发送"), "info");
    sync();
  }
  async function refreshCount() {
    const items = await outboxAll();
    const waiting = items.filter((i) => i.status !== "sent").length;
    $("#outbox-count").textContent = String(waiting);
    $("#outbox-count").dataset.n = String(waiting);
    return items;
  }
  function setNet() {
    const n = $("#net");
    n.textContent = navigator.onLine ? "在线" : "离线";
    n.dataset.online = navigator.onLine ? "1" : "0";
  }

  async function pushOutbox() {
    const waiting = (await outboxAll()).filter((i) => i.status === "waiting").sort((a, b) => a.seq - b.seq);
    let i = 0;
    while (i < waiting.length) {
      const batch = [];
      let bytes = 0;
      // Batches in outbox order, bounded in bytes; the server applies them in the same order.
      while (i < waiting.length && batch.length < 50) {
        const size = JSON.stringify(waiting[i].data).length;
        if (batch.length && bytes + size > BATCH_BYTES) break;
        batch.push(waiting[i]); bytes += size; i++;
      }
      const res = await fetch(API, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ items: batch.map((b) => ({ client_id: b.client_id, kind: b.kind, recorded_at: b.recorded_at, data: b.data })) }),
      });
      if (res.status === 401 || res.status === 403) { loginNeeded(); return false; }
      if (!res.ok) throw new Error("服务器暂时无法接收（" + res.status + "）");
      const answer = await res.json();
      for (const r of answer.results) {
        const item = batch[r.index];
        if (!item) continue;
        item.status = r.status === "refused" ? "refused" : "sent";
        item.code = r.code; item.message = r.message; item.ref = r.ref; item.extra = r.extra;
        item.sent_at = new Date().toISOString();
        await outboxPut(item);
      }
    }
    return true;
  }
  async function pull() {
    // The server decides: a cursor from an earlier day gets a full pull (today's list, catalogues).
    const cursor = grid && grid.cursor ? grid.cursor : "";
    const res = await fetch(API + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""), { credentials: "same-origin" });
    if (res.status === 401 || res.status === 403) { loginNeeded(); return; }
    if (!res.ok) throw new Error("同步失败（" + res.status + "）");
    const data = await res.json();
    if (!data.full && grid) {
      // Cases are incremental; everything else arrives whole.
      const byId = new Map(grid.cases.map((c) => [c.id, c]));
      for (const c of data.cases) byId.set(c.id, c);
      data.cases = [...byId.values()].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
      data.catalogues = grid.catalogues;
    }
    grid = data;
    await putGrid(grid);
  }
  async function sync() {
    if (syncing || !navigator.onLine) return;
    syncing = true;
    $("#sync-now").disabled = true;
    try {
      if (await pushOutbox() !== false) {
        await pull();
        const items = await refreshCount();
        const refused = items.filter((x) => x.status === "refused").length;
        banner(refused ? `有 ${refused} 条记录被退回，请在“待发送”中查看原因并修改` : "", refused ? "warn" : "");
      }
    } catch (err) {
      banner((err && err.message) || "网络不稳定，稍后自动重试", "warn");
    } finally {
      syncing = false;
      $("#sync-now").disabled = false;
      await refreshCount();
      render();
    }
  }
  function loginNeeded() {
    banner("登录已过期：记录都保存在手机上，请重新登录后发送", "warn");
    const b = $("#banner");
    b.append(" ", el("a", { href: body.dataset.login, text: "去登录", class: "link" }));
  }

  // --- views ------------------------------------------------------------------------------------------------
  function render() {
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("on", b.dataset.tab === tab);
    $("#grid-name").textContent = grid ? `${grid.grid.village}${grid.grid.name}` : "";
    const view = $("#view");
    view.replaceChildren();
    if (tab === "outbox") return renderOutbox(view);
    if (!grid) {
      view.append(el("p", { class: "empty", text: navigator.onLine ? "正在下载本网格数据…" : "首次使用请在有信号时打开，下载本网格数据" }));
      return;
    }
    ({ visits: renderVisits, cases: renderCases, more: renderMore, people: renderPeople })[tab](view);
  }
  const card = (title, sub, ...rest) => el("div", { class: "card" }, el("div", { class: "card-title", text: title }), sub ? el("div", { class: "muted", text: sub }) : null, ...rest);
  const button = (text, onClick, cls) => { const b = el("button", { type: "button", class: "big " + (cls || ""), text }); b.addEventListener("click", onClick); return b; };

  function renderVisits(view) {
    const list = grid.must_visit;
    const done = list.filter((m) => m.done).length;
    view.append(el("h2", { text: `今日走访 ${done}/${list.length}` }));
    view.append(button("开始巡查", openPatrol, "secondary"));
    if (!list.length) view.append(el("p", { class: "empty", text: "今天没有必访对象" }));
    for (const m of list) {
      const status = m.done ? "已走访" : m.days_overdue > 0 ? `逾期 ${m.days_overdue} 天` : m.never_visited ? "从未走访" : "今日应访";
      const c = card(`${m.name}（${m.gender === "female" ? "女" : "男"}${m.age != null ? "，" + m.age + "岁" : ""}）`,
        `${m.tags.join("、")} · ${m.address || "无地址"}`, el("div", { class: "tag " + (m.done ? "ok" : m.days_overdue > 0 ? "bad" : ""), text: status }));
      if (!m.done) c.append(button("记录走访", () => openVisit(m), "primary"));
      view.append(c);
    }
  }

  function renderCases(view) {
    view.append(el("h2", { text: "我的案件" }));
    view.append(button("上报事件", () => openCase(), "primary"));
    if (!grid.cases.length) view.append(el("p", { class: "empty", text: "近 30 天本网格没有案件" }));
    for (const c of grid.cases) {
      const k = card(`${c.number} · ${c.category}`, `${c.state_label}${c.mine ? " · 我上报的" : ""}`, el("p", { text: c.description }));
      if (c.actions.includes("self_resolve")) k.append(button("自行处置", () => openResolve(c)));
      if (c.actions.includes("verify")) k.append(button("现场核查", () => openVerify(c)));
      view.append(k);
    }
  }

  function renderMore(view) {
    view.append(el("h2", { text: "办事" }));
    view.append(button("积分代报", openClaim, "primary"), button("代办服务申请", openApply, "primary"));
    const returned = grid.applications.filter((a) => a.state === "returned");
    view.append(el("h3", { text: `待补正的申请（${returned.length}）` }));
    if (!returned.length) view.append(el("p", { class: "empty", text: "没有被退回补正的申请" }));
    for (const a of returned) {
      view.append(card(`${a.number} · ${a.item}`, `申请人 ${a.applicant} · 需补：${a.missing.map((m) => m.name).join("、")}`,
        button("拍照补正", () => openResubmit(a))));
    }
    view.append(el("h3", { text: "通知公告" }));
    if (!grid.notices.length) view.append(el("p", { class: "empty", text: "没有通知" }));
    for (const n of grid.notices) {
      const owing = n.requires_ack && !n.acknowledged;
      const k = card(n.title, `${n.unit || ""} · ${n.requires_ack ? (n.acknowledged ? "已签收" : "待签收") : "无需签收"}`, el("p", { text: n.body }));
      if (owing) {
        const comment = el("input", { placeholder: "签收意见（可选）", class: "field" });
        k.append(comment, button("签收", async () => {
          n.acknowledged = true; await putGrid(grid);
          await enqueue("notice_ack", "签收：" + n.title, { notice: n.id, comment: comment.value.trim() });
        }, "primary"));
      }
      view.append(k);
    }
  }

  function renderPeople(view) {
    const q = el("input", { type: "search", placeholder: "按姓氏、地址或类别筛选", class: "field" });
    const box = el("div");
    const draw = () => {
      const term = q.value.trim();
      const rows = grid.people.filter((p) => !term || p.name.includes(term) || p.address.includes(term) || p.tags.join().includes(term));
      box.replaceChildren(el("p", { class: "muted", text: `共 ${rows.length} 人（姓名已脱敏）` }),
        ...rows.slice(0, 200).map((p) => el("div", { class: "row" }, el("b", { text: p.name }),
          ` ${p.gender === "female" ? "女" : "男"}${p.age != null ? " " + p.age + "岁" : ""} · ${p.address || "无地址"}`,
          p.tags.length ? el("span", { class: "tag", text: p.tags.join("、") }) : null)));
    };
    q.addEventListener("input", draw);
    view.append(el("h2", { text: "网格人员" }), q, box);
    draw();
  }

  function renderOutbox(view) {
    outboxAll().then((items) => {
      items.sort((a, b) => a.seq - b.seq);
      const label = { waiting: "等待发送", sent: "已发送", refused: "被退回" };
      view.append(el("h2", { text: "待发送" }));
      if (!items.length) view.append(el("p", { class: "empty", id: "outbox-empty", text: "没有待发送的记录" }));
      for (const item of items) {
        const k = el("div", { class: "card outbox-item", "data-status": item.status },
          el("div", { class: "card-title", text: item.title }),
          el("div", { class: "tag " + ({ sent: "ok", refused: "bad" })[item.status], text: label[item.status] }),
          el("div", { class: "muted", text: new Date(item.recorded_at).toLocaleString("zh-CN") }));
        if (item.status === "sent" && item.ref) k.append(el("div", { text: `${item.message || ""} ${item.ref.label || ""}` }));
        if (item.status === "refused") {
          k.append(el("p", { class: "error", text: item.message || item.code }));
          k.append(button("修改后重发", () => openFix(item)), button("放弃", async () => { await outboxDelete(item.seq); await refreshCount(); render(); }, "secondary"));
        }
        view.append(k);
      }
      if (items.some((i) => i.status === "sent")) {
        view.append(button("清除已发送", async () => {
          for (const i of items) if (i.status === "sent") await outboxDelete(i.seq);
          await refreshCount(); render();
        }, "secondary"));
      }
      const form = el("form", { method: "post", action: body.dataset.logout },
        el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }));
      const out = el("button", { type: "submit", class: "big secondary", text: "退出登录" });
      const waiting = items.filter((i) => i.status !== "sent").length;
      if (waiting) { out.disabled = true; out.textContent = `还有 ${waiting} 条未发送，暂不能退出`; }
      form.append(out);
      form.addEventListener("submit", async (e) => {
        // The grid's data leaves the phone with the worker (a shared or lost phone keeps nothing).
        e.preventDefault();
        await putGrid(null);
        form.submit();
      });
      view.append(form);
    });
  }

  // --- forms (a bottom sheet) -------------------------------------------------------------------------------
  function sheet(title, fields, onSubmit, notice) {
    const s = $("#sheet");
    const form = el("form", { class: "form", noValidate: true });
    const error = el("p", { class: "error", hidden: true });
    form.append(el("h2", { text: title }), ...fields, notice || "", error,
      el("div", { class: "actions" }, el("button", { type: "submit", class: "big primary", text: "保存" }),
        button("取消", () => { s.hidden = true; }, "secondary")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        await onSubmit(form);
        s.hidden = true;
      } catch (err) {
        error.textContent = err.message; error.hidden = false;
      } finally { submit.disabled = false; }
    });
    s.replaceChildren(form); s.hidden = false;
    const first = form.querySelector("textarea, input:not([type=hidden]), select");
    if (first) first.focus();
  }
  // A form that collects personal data: the sheet plus the purpose/legal-basis notice (PIPL art. 17).
  // The notices are <template id="notice-tpl-KIND"> elements of the shell, which the service worker
  // precaches, so they show offline too (and no inline script is needed).
  function collect(kind, title, fields, onSubmit) {
    const tpl = document.getElementById("notice-tpl-" + kind);
    sheet(title, fields, onSubmit, tpl ? tpl.content.cloneNode(true) : null);
  }
  const label = (text, input) => el("label", { class: "lbl" }, el("span", { text }), input);
  const textarea = (name, value) => el("textarea", { name, rows: 3, value: value || "" });
  const photoInput = (name) => el("input", { type: "file", name: name || "photo", accept: "image/*", capture: "environment" });
  const select = (name, options, value) => el("select", { name }, ...options.map(([v, t]) => el("option", { value: v, text: t, selected: String(v) === String(value) })));
  async function photoOf(form, name, required) {
    const input = form.elements[name || "photo"];
    const file = input && input.files && input.files[0];
    if (!file) { if (required) throw new Error("请拍摄现场照片"); return null; }
    return compressPhoto(file);
  }
  const need = (form, name, what) => { const v = (form.elements[name].value || "").trim(); if (!v) throw new Error("请填写" + what); return v; };

  function openVisit(m, previous) {
    const d = (previous && previous.data) || {};
    const checks = m.checklist.map((c) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "check", value: c, checked: (d.checklist || []).includes(c) }), c));
    collect("visit", `走访：${m.name}`, [...checks, label("走访情况", textarea("findings", d.findings)), label("现场照片", photoInput()),
      label("发现问题（将随走访记录转交）", textarea("need", ((d.needs || [])[0] || {}).text))], async (form) => {
      const photo = (await photoOf(form)) || d.photo || null;
      const pos = (await position()) || {};
      const data = { resident: m.resident, visited_at: d.visited_at || new Date().toISOString(), findings: form.elements.findings.value.trim(),
        checklist: [...form.querySelectorAll("input[name=check]:checked")].map((x) => x.value), photo, ...pos };
      const needText = form.elements.need.value.trim();
      if (needText) data.needs = [{ kind: "case", text: needText }];
      if (previous) return resend(previous, data);
      m.done = true; await putGrid(grid);
      await enqueue("visit", `走访 ${m.name}`, data);
    });
  }
  function openCase(previous) {
    const d = (previous && previous.data) || {};
    const cats = grid.catalogues.case_categories.map((c) => [c.code, `${c.parent ? c.parent + " · " : ""}${c.name}${c.self_resolvable ? "（可自行处置）" : ""}`]);
    collect("case", "上报事件", [label("分类", select("category", cats, d.category)), label("问题描述", textarea("description", d.description)),
      label("地址（可选）", el("input", { name: "address", value: d.address || "" })), label("现场照片", photoInput()),
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "self_resolved", checked: !!d.self_resolved }), "已现场处置（自行处置）"),
      label("处置情况", textarea("resolution_note", d.resolution_note))], async (form) => {
      const data = { category: form.elements.category.value, description: need(form, "description", "问题描述"), address: form.elements.address.value.trim(),
        self_resolved: form.elements.self_resolved.checked, resolution_note: form.elements.resolution_note.value.trim() };
      data.photo = (await photoOf(form, "photo", data.self_resolved && !d.photo)) || d.photo || null;
      Object.assign(data, (await position()) || {});
      if (previous) return resend(previous, data);
      await enqueue("case_report", `上报：${data.description.slice(0, 20)}`, data);
    });
  }
  function openResolve(c, previous) {
    const d = (previous && previous.data) || {};
    collect("case", `自行处置 ${c.number || ""}`, [label("处置情况", textarea("note", d.note)), label("处置后照片", photoInput())], async (form) => {
      const data = { case: c.id || d.case, base_state: c.state || d.base_state, note: need(form, "note", "处置情况") };
      data.photo = (await photoOf(form, "photo", !d.photo)) || d.photo;
      if (previous) return resend(previous, data);
      await enqueue("case_self_resolve", `自行处置 ${c.number}`, data);
    });
  }
  function openVerify(c, previous) {
    const d = (previous && previous.data) || {};
    collect("case", `现场核查 ${c.number || ""}`, [label("结论", select("passed", [["1", "核查通过"], ["0", "核查不通过"]], d.passed === false ? "0" : "1")),
      label("核查意见", textarea("note", d.note)), label("照片（可选）", photoInput())], async (form) => {
      const passed = form.elements.passed.value === "1";
      const data = { case: c.id || d.case, base_state: c.state || d.base_state, passed, note: form.elements.note.value.trim() };
      if (!passed && !data.note) throw new Error("核查不通过请填写原因");
      data.photo = (await photoOf(form)) || d.photo || null;
      if (previous) return resend(previous, data);
      await enqueue("case_verify", `核查 ${c.number}`, data);
    });
  }
  function openClaim(previous) {
    const d = (previous && previous.data) || {};
    const subjects = grid.subjects.map((s) => [s.id, s.name]);
    const items = grid.catalogues.points_items.map((i) => [i.code, `${i.name}（${i.min === i.max ? i.min : i.min + "~" + i.max} 分）`]);
    collect("claim", "积分代报（网格员代报）", [label("对象", select("subject", subjects, d.subject)), label("积分项目", select("item", items, d.item)),
      label("分值（范围项目填写）", el("input", { name: "points", type: "number", inputMode: "numeric", value: d.points || "" })),
      label("发生日期", el("input", { name: "occurred_on", type: "date", value: d.occurred_on || new Date().toISOString().slice(0, 10) })),
      label("事实经过", textarea("description", d.description)), label("证明照片（可选）", photoInput())], async (form) => {
      const data = { subject: Number(form.elements.subject.value), item: form.elements.item.value, occurred_on: form.elements.occurred_on.value,
        description: need(form, "description", "事实经过"), points: form.elements.points.value || null, channel: "in_person" };
      data.photo = (await photoOf(form)) || d.photo || null;
      if (previous) return resend(previous, data);
      await enqueue("points_claim", "积分代报", data);
    });
  }
  function openApply(previous) {
    const d = (previous && previous.data) || {};
    const services = grid.catalogues.service_items;
    const people = grid.people.map((p) => [p.id, `${p.name} ${p.address || ""}`]);
    const qbox = el("div");
    const itemSel = select("item_code", services.map((s) => [s.code, s.name]), d.item_code);
    const drawQuestions = () => {
      const item = services.find((s) => s.code === itemSel.value);
      qbox.replaceChildren(...((item && item.questions) || []).map((q) => label(q.label + (q.required ? "" : "（可选）"),
        q.type === "choice" ? select("q_" + q.key, [["", "请选择"], ...(q.choices || []).map((c) => [c, c])], (d.answers || {})[q.key])
          : q.type === "bool" ? select("q_" + q.key, [["", "请选择"], ["true", "是"], ["false", "否"]], (d.answers || {})[q.key])
            : el("input", { name: "q_" + q.key, type: q.type === "date" ? "date" : q.type === "int" || q.type === "money" ? "number" : "text", value: (d.answers || {})[q.key] || "" }))));
    };
    itemSel.addEventListener("change", drawQuestions);
    collect("application", "代办服务申请", [label("服务事项", itemSel), label("申请人", select("applicant", people, d.applicant)), qbox], async (form) => {
      const answers = {};
      for (const input of form.querySelectorAll("[name^=q_]")) if (input.value.trim()) answers[input.name.slice(2)] = input.value.trim();
      const data = { item_code: itemSel.value, applicant: Number(form.elements.applicant.value), answers };
      if (previous) return resend(previous, data);
      await enqueue("egov_apply", "代办：" + itemSel.selectedOptions[0].textContent, data);
    });
    drawQuestions();
  }
  function openResubmit(a, previous) {
    const d = (previous && previous.data) || {};
    const inputs = (a.missing || []).map((m) => label(m.name, photoInput("m_" + m.code)));
    collect("application", `补正 ${a.number || ""}`, [...inputs, label("补正说明", textarea("note", d.note))], async (form) => {
      const materials = [];
      for (const m of a.missing || []) {
        const photo = await photoOf(form, "m_" + m.code, false);
        if (!photo) throw new Error("请拍摄：" + m.name);
        materials.push({ code: m.code, photo });
      }
      const data = { application: a.id, base_state: "returned", materials, note: form.elements.note.value.trim() };
      if (previous) return resend(previous, data);
      await enqueue("egov_resubmit", `补正 ${a.number}`, data);
    });
  }
  let patrol = null;
  function openPatrol() {
    if (patrol) return;
    patrol = { started_at: new Date().toISOString(), points: [] };
    const watch = navigator.geolocation ? navigator.geolocation.watchPosition((p) => {
      patrol.points.push({ t: new Date(p.timestamp).toISOString(), lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: Math.round(p.coords.accuracy) });
    }, () => {}, { enableHighAccuracy: true, maximumAge: 10000 }) : null;
    sheet("巡查中…", [el("p", { class: "muted", text: "保持本页打开，结束时填写巡查发现" }), label("巡查发现", textarea("findings"))], async (form) => {
      if (watch != null) navigator.geolocation.clearWatch(watch);
      const data = { ...patrol, ended_at: new Date().toISOString(), findings: form.elements.findings.value.trim(), crs: "wgs84" };
      patrol = null;
      await enqueue("patrol", `巡查（${data.points.length} 个定位点）`, data);
    });
  }
  // A refused item opens its own form again with what was entered; the fix is resent under the same id.
  function openFix(item) {
    const d = item.data;
    if (item.kind === "visit") {
      const m = grid.must_visit.find((x) => x.resident === d.resident) || grid.people.find((p) => p.id === d.resident) || {};
      return openVisit({ resident: d.resident, name: m.name || "", checklist: m.checklist || [] }, item);
    }
    if (item.kind === "case_report") return openCase(item);
    if (item.kind === "case_verify" || item.kind === "case_self_resolve") {
      const current = grid.cases.find((c) => c.id === d.case);
      if (item.code === "case_moved_on") {
        // The case moved on: the old decision is void; offer the action the current state allows.
        banner(item.message, "warn");
        if (!current || !current.actions.length) return outboxDelete(item.seq).then(refreshCount).then(render);
      }
      const c = current || { id: d.case, state: d.base_state, number: "" };
      const fresh = { ...item, data: { ...d, base_state: c.state } };
      return (c.actions.includes("verify") ? openVerify : openResolve)(c, fresh);
    }
    if (item.kind === "points_claim") return openClaim(item);
    if (item.kind === "egov_apply") return openApply(item);
    if (item.kind === "egov_resubmit") return openResubmit(grid.applications.find((a) => a.id === d.application) || { id: d.application, missing: [] }, item);
    return resend(item, d);
  }
  async function resend(item, data) {
    Object.assign(item, { data, status: "waiting", code: "", message: "" });
    await outboxPut(item);
    await refreshCount();
    sync();
    render();
  }

  // --- start -------------------------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", async () => {
    $("#tabs").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-tab]");
      if (b) { tab = b.dataset.tab; render(); }
    });
    $("#sync-now").addEventListener("click", sync);
    window.addEventListener("online", () => { setNet(); sync(); });
    window.addEventListener("offline", setNet);
    setNet();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.scope }).catch(() => {});
    grid = await getGrid();
    await refreshCount();
    render();
    body.dataset.ready = "1";
    sync();
    setInterval(sync, 60000);
  });
})();

// The stream job's live page: polls the job's JSON status and redraws.
(function () {
  "use strict";
  var root = document.getElementById("live");
  var url = root.dataset.status, interval = Number(root.dataset.interval) || 2000;
  var status = document.getElementById("live-status");
  var charts = {};
  document.querySelectorAll("canvas[data-live]").forEach(function (c) {
    var spec = c.dataset.live === "live-records"
      ? { type: "bar", labels: [], datasets: [{ label: "in", data: [] }, { label: "out", data: [] }, { label: "rejected", data: [] }], yTitle: "records" }
      : { type: "bar", horizontal: true, labels: [], datasets: [{ label: "ms behind", data: [] }], xTitle: "ms behind latest" };
    charts[c.dataset.live] = c;
    pinpipe.makeChart(c, spec);
  });

  function setChart(id, labels, series) {
    var canvas = charts[id], ch = Chart.getChart(canvas), bars = 0;
    ch.data.labels = labels;
    series.forEach(function (s, i) { ch.data.datasets[i].data = s; bars += s.length; });
    ch.update("none");
    canvas.dataset.bars = String(bars);
  }

  // when shows an RFC 3339 time of the status as "2006-01-02 15:04:05Z".
  function when(t) { return t.replace("T", " ").replace(/\.\d+Z$/, "Z"); }

  function sum(m) { var n = 0; Object.keys(m || {}).forEach(function (k) { n += m[k]; }); return n; }

  function render(s) {
    setChart("live-records", s.tables.map(function (t) { return t.table; }), [
      s.tables.map(function (t) { return t.records_in; }),
      s.tables.map(function (t) { return t.records_out; }),
      s.tables.map(function (t) { return t.rejected; })]);
    pinpipe.fillTable(document.getElementById("live-records-table"), s.tables.map(function (t) {
      return [t.table, t.stream, t.records_in, t.records_out, t.rejected, t.blank];
    }));

    document.getElementById("live-lag-box").style.height = Math.max(160, 60 + 24 * s.shards.length) + "px";
    document.getElementById("live-lag-empty").hidden = s.shards.length > 0;
    setChart("live-lag", s.shards.map(function (x) { return x.stream + "/" + x.shard; }),
      [s.shards.map(function (x) { return x.millis_behind; })]);
    pinpipe.fillTable(document.getElementById("live-lag-table"), s.shards.map(function (x) {
      return [x.stream, x.shard, x.millis_behind];
    }));

    pinpipe.fillTable(document.getElementById("live-flushes-table"), s.flushes.map(function (f) {
      return [when(f.time), f.table, f.stream + "/" + f.shard, f.rows, f.rejected,
        Math.round(f.seconds * 1000) / 1000, f.outcome];
    }));

    // Quality: the known sections, and any other count or map of counts.
    var q = s.quality.quality, tables = Object.keys(q);
    var scalars = [], maps = [];
    tables.forEach(function (t) {
      Object.keys(q[t]).forEach(function (k) {
        var v = q[t][k];
        if (typeof v === "number") { if (scalars.indexOf(k) < 0) { scalars.push(k); } }
        else if (k !== "rejected" && k !== "nulls" && v && typeof v === "object" && maps.indexOf(k) < 0) { maps.push(k); }
      });
    });
    var qt = document.getElementById("live-quality-table");
    var head = ["table"].concat(scalars, ["rejected", "nulls"], maps);
    var tr = qt.tHead.rows[0];
    if (tr.cells.length !== head.length) {
      while (tr.firstChild) { tr.removeChild(tr.firstChild); }
      head.forEach(function (h, i) {
        var th = document.createElement("th"), b = document.createElement("button");
        th.scope = "col"; b.type = "button"; b.textContent = h; th.appendChild(b);
        if (i > 0) { th.className = "num"; th.dataset.type = "num"; }
        tr.appendChild(th);
      });
    }
    var counts = [];
    pinpipe.fillTable(qt, tables.map(function (t) {
      var r = q[t], nulls = 0;
      Object.keys(r.nulls || {}).forEach(function (c) {
        var n = r.nulls[c];
        ["missing", "placeholder", "unparseable"].forEach(function (cause) {
          if (n[cause]) { counts.push([t, "nulls (" + cause + ")", c, n[cause]]); nulls += n[cause]; }
        });
      });
      Object.keys(r.rejected || {}).sort().forEach(function (k) { counts.push([t, "rejected", k, r.rejected[k]]); });
      maps.forEach(function (m) {
        Object.keys(r[m] || {}).sort().forEach(function (k) { counts.push([t, m.replace(/_/g, " "), k, r[m][k]]); });
      });
      return [t].concat(scalars.map(function (k) { return r[k]; }), [sum(r.rejected), nulls], maps.map(function (m) { return sum(r[m]); }));
    }));
    pinpipe.fillTable(document.getElementById("live-counts-table"), counts);

    status.className = "status" + (s.health === "ok" ? "" : " bad");
    status.textContent = "Health: " + s.health + ". Updated " + when(s.time) +
      "; refreshes every " + interval / 1000 + " s. " + s.stats.Flushes + " flushes, " + s.stats.Files + " files written.";
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  }

  function poll() {
    fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(url + " answered " + r.status); }
      return r.json();
    }).then(render).catch(function (e) {
      status.className = "status bad";
      status.textContent = "The job is not answering (" + e.message + "); trying again every " + interval / 1000 + " s.";
    }).then(function () { setTimeout(poll, interval); });
  }
  poll();
})();

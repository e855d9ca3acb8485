// The resident portal's report form: three steps, category hints, photos resized on the phone
// (and re-encoded, which also drops their metadata before upload), and a map point.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  document.documentElement.classList.add("js");

  // Steps.
  var sections = form.querySelectorAll(".step");
  var marks = document.querySelectorAll(".steps li");
  var map = null;
  function show(n) {
    sections.forEach(function (s) { s.classList.toggle("on", s.getAttribute("data-step") === String(n)); });
    marks.forEach(function (m) { m.classList.toggle("on", Number(m.getAttribute("data-step")) <= n); });
    if (n === 2) { setupMap(); }
    window.scrollTo(0, 0);
  }
  function fail(n, text) {
    var e = document.getElementById("err-" + n);
    e.textContent = text; e.hidden = !text;
    return !text;
  }
  function valid(n) {
    if (n === 1) { return fail(1, form.text.value.trim() ? "" : "请先说一说遇到了什么问题"); }
    if (n === 2) {
      return fail(2, form.lat.value || form.address.value.trim() ? "" : "请在地图上选择位置，或填写详细地址");
    }
    return true;
  }
  form.querySelectorAll("[data-next]").forEach(function (b) {
    b.addEventListener("click", function () {
      var to = Number(b.getAttribute("data-next"));
      var from = Number(b.closest(".step").getAttribute("data-step"));
      if (to > from && !valid(from)) { return; }
      show(to);
    });
  });
  form.addEventListener("submit", function (ev) {
    if (!valid(1)) { ev.preventDefault(); show(1); return; }
    if (!valid(2)) { ev.preventDefault(); show(2); return; }
    var btn = document.getElementById("submit-report");
    btn.disabled = true; btn.textContent = "正在提交…";
  });
  show(1);

  // Category hints from the district's classifier.
  var timer = null;
  form.text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var t = form.text.value.trim();
      if (t.length < 4) { return; }
      fetch("/report/suggest?text=" + encodeURIComponent(t.slice(0, 500)))
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          var box = document.getElementById("suggest"), list = document.getElementById("suggest-list");
          list.innerHTML = "";
          items.forEach(function (it) {
            var l = document.createElement("label"); l.className = "choice small";
            var i = document.createElement("input"); i.type = "radio"; i.name = "category_pick"; i.value = it.id;
            i.addEventListener("change", function () { form.category_id.value = it.id; });
            l.appendChild(i); l.appendChild(document.createTextNode(" " + it.name));
            list.appendChild(l);
          });
          box.hidden = items.length === 0;
        }).catch(function () {});
    }, 600);
  });

  // Photos: resized to at most 1600 px and re-encoded as JPEG on the phone.
  var input = document.getElementById("photos");
  var previews = document.getElementById("previews");
  var max = Number(input.getAttribute("data-max")) || 9;
  var kept = [];
  function render() {
    previews.innerHTML = "";
    kept.forEach(function (f, i) {
      var d = document.createElement("div"); d.className = "thumb";
      var img = document.createElement("img"); img.alt = "照片 " + (i + 1); img.src = URL.createObjectURL(f);
      var x = document.createElement("button"); x.type = "button"; x.textContent = "×"; x.setAttribute("aria-label", "删除这张照片");
      x.addEventListener("click", function () { kept.splice(i, 1); sync(); });
      d.appendChild(img); d.appendChild(x); previews.appendChild(d);
    });
  }
  function sync() {
    var dt = new DataTransfer();
    kept.forEach(function (f) { dt.items.add(f); });
    input.files = dt.files;
    render();
  }
  function shrink(file) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, 1600 / Math.max(img.width, img.height));
        var c = document.createElement("canvas");
        c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        c.toBlob(function (b) {
          resolve(b ? new File([b], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      };
      img.onerror = function () { resolve(file); };
      img.src = URL.createObjectURL(file);
    });
  }
  input.addEventListener("change", function () {
    var picked = Array.prototype.slice.call(input.files);
    var room = Math.max(0, max - kept.length);
    if (picked.length > room) { fail(1, "最多上传 " + max + " 张照片"); }
    Promise.all(picked.slice(0, room).map(shrink)).then(function (files) {
      kept = kept.concat(files); sync();
    });
  });

  // The map: tap to set the point; or the phone's location (WGS84 from the browser).
  var marker = null;
  function setPoint(lat, lng, how) {
    form.lat.value = lat.toFixed(6); form.lng.value = lng.toFixed(6);
    document.getElementById("point-msg").textContent = how + "：" + lat.toFixed(5) + "，" + lng.toFixed(5);
    if (map) {
      if (marker) { marker.setLatLng([lat, lng]); } else { marker = L.marker([lat, lng]).addTo(map); }
    }
    fail(2, "");
  }
  function setupMap() {
    if (map || !window.L) { return; }
    var el = document.getElementById("map");
    var at = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lng"))];
    map = L.map(el, { attributionControl: false }).setView(at, 14);
    var tiles = el.getAttribute("data-tiles");
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    L.control.scale({ imperial: false }).addTo(map);
    map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, "已选位置"); });
    if (form.lat.value) { setPoint(Number(form.lat.value), Number(form.lng.value), "已选位置"); }
  }
  document.getElementById("use-location").addEventListener("click", function () {
    var msg = document.getElementById("point-msg");
    if (!navigator.geolocation) { msg.textContent = "您的浏览器不支持定位，请在地图上选点"; return; }
    msg.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (p) {
      setPoint(p.coords.latitude, p.coords.longitude, "当前位置");
      if (map) { map.setView([p.coords.latitude, p.coords.longitude], 17); }
    }, function () { msg.textContent = "无法获取位置，请在地图上点选，或填写地址"; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();

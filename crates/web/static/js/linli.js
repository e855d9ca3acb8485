// Linli console helpers (no framework; htmx does the requests).
// Confirm dangerous actions: <button data-confirm="确定停用？">.
document.addEventListener("click", function (e) {
  var el = e.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    e.preventDefault();
    e.stopPropagation();
  }
}, true);

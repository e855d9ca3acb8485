// Linli console helpers (no framework; htmx does the requests).
// Confirm dangerous actions: <button data-confirm="确定停用？">.
document.addEventListener("click", function (e) {
  var el = e.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    e.preventDefault();
    e.stopPropagation();
  }
}, true);

// Swap error responses too: the server answers fragments with their real status (403, 404, 422)
// and a Chinese message meant to appear in place of the content.
document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }
});

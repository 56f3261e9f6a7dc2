// Click-to-enlarge: a cell-output or figure image shown smaller than its own size (dense figures,
// phones) becomes a link to the image itself, opened at full size.
(function () {
  function wrap(img) {
    if (img.closest("a, .animation, .widget-image") || !img.naturalWidth || img.src.startsWith("data:")) return;
    if (img.naturalWidth <= img.getBoundingClientRect().width * 1.05) return;
    var link = document.createElement("a");
    link.href = img.src;
    link.className = "xorgrok-zoom";
    link.title = "Open the figure at full size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
  }
  function scan() {
    document.querySelectorAll(".bd-article div.cell_output img, .bd-article figure img").forEach(function (img) {
      if (img.complete) wrap(img); else img.addEventListener("load", function () { wrap(img); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
  window.addEventListener("resize", scan);
})();

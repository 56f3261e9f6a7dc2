// A first visit has no stored light/dark choice, and the theme then logs "Got invalid theme mode".
// Follow the reader's system setting ("auto") until they pick one with the theme switch.
(function () {
  var root = document.documentElement;
  if (!root.dataset.mode) root.dataset.mode = "auto";
  if (!root.dataset.theme || root.dataset.theme === "auto") {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = root.dataset.mode === "auto" ? (dark ? "dark" : "light") : root.dataset.mode;
  }
})();

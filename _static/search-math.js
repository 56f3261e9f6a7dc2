// Search results quote each page's text; its mathematics is TeX there (MathJax only runs on the page
// itself), so "\(\lVert\mu\rVert\)" would show as such. Rewrite the math of the quoted text in plain
// Unicode (mu -> μ, \lVert -> ‖, ...) before Sphinx cuts its snippet.
(function () {
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", Delta: "Δ", epsilon: "ε", varepsilon: "ε", eta: "η",
    kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", omega: "ω", Omega: "Ω", phi: "φ", varphi: "φ", Phi: "Φ",
    pi: "π", rho: "ρ", sigma: "σ", Sigma: "Σ", tau: "τ", theta: "θ", xi: "ξ", zeta: "ζ", psi: "ψ",
    lVert: "‖", rVert: "‖", Vert: "‖", lvert: "|", rvert: "|", langle: "⟨", rangle: "⟩", cdot: "·",
    times: "×", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", sim: "∼", pm: "±",
    infty: "∞", to: "→", mapsto: "↦", in: "∈", sum: "Σ", prod: "Π", sqrt: "√", partial: "∂",
    nabla: "∇", top: "ᵀ", ll: "≪", gg: "≫", propto: "∝", ldots: "…", dots: "…", cdots: "⋯",
  };
  function plain(tex) {
    return tex
      .trim()  // a display block's text starts and ends with a line break
      .replace(/^\\\(|\\\)$|^\\\[|\\\]$/g, "")
      .replace(/\\(?:begin|end)\{[^{}]*\}/g, " ")
      .replace(/\\\\/g, " ")
      .replace(/\\\|/g, "‖")
      .replace(/\\(?:tfrac|frac|dfrac)\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
      .replace(/\\([A-Za-z]+)/g, function (m, name) { return name in SYMBOLS ? SYMBOLS[name] : ""; })
      .replace(/\\[,;:! ]/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ");
  }
  function install() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search._xorgrokMath) return;
    var original = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math").forEach(function (el) { el.textContent = plain(el.textContent); });
      return original(doc.documentElement.outerHTML, anchor);
    };
    Search._xorgrokMath = true;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", install);
  else install();
})();

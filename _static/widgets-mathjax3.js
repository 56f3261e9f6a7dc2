// The Jupyter widgets embed manager typesets widget labels with the MathJax 2 API
// (MathJax.Hub.Queue), but the book loads MathJax 3, which has no Hub: every widget view would throw
// "Cannot read properties of undefined (reading 'Queue')". Give MathJax 3 a small Hub that forwards
// to its own typesetting.
(function () {
  function addHub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {
      Queue: function () {
        var elements = [];
        for (var k = 0; k < arguments.length; k++) {
          var job = arguments[k];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
        }
        mj.startup.promise
          .then(function () { return mj.typesetPromise(elements.length ? elements : undefined); })
          .catch(function () {});
      },
    };
  }
  document.addEventListener("DOMContentLoaded", addHub);
  window.addEventListener("load", addHub);
})();

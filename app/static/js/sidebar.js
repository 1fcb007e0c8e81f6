// The sidebar: the current page's entry is marked and its group opened; on narrow screens the
// 菜单 button shows and hides it. (The menu's HTML is shared between users: marked here.)
(function () {
  var sidebar = document.getElementById("app-sidebar");
  if (!sidebar) { return; }
  var here = window.location.pathname.split("/")[1] || "";
  var best = null;
  Array.prototype.forEach.call(sidebar.querySelectorAll("a[href]"), function (link) {
    var path = new URL(link.href, window.location.href).pathname;
    if (path === window.location.pathname) { best = link; }
    else if (!best && here && path.split("/")[1] === here) { best = link; }
  });
  if (best) {
    best.classList.add("active");
    best.setAttribute("aria-current", "page");
    for (var node = best.parentNode; node && node !== sidebar; node = node.parentNode) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
  } else {  // the 工作台 and pages of their own: the first group stays open
    var first = sidebar.querySelector("details.nav-group");
    if (first) { first.open = true; }
  }
  var toggle = document.querySelector(".sidebar-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var shown = document.body.classList.toggle("sidebar-open");
      toggle.setAttribute("aria-expanded", shown ? "true" : "false");
    });
  }
})();

// Server-side paginated Select2 for relations to big tables (房屋, 业主 ...).
$(function () {
  $("select.ajax-select").each(function () {
    var $el = $(this);
    $el.select2({
      theme: "bootstrap",
      language: "zh-CN",
      width: "100%",
      allowClear: $el.data("allow-clear") === true,
      placeholder: "输入关键字搜索",
      minimumInputLength: 0,
      ajax: {
        url: $el.data("url"),
        dataType: "json",
        delay: 250,
        data: function (params) { return { q: params.term || "", page: params.page || 1 }; },
        processResults: function (data) { return data; }
      }
    });
  });
});

// The list filters: a closed list is picked from its Chinese labels, several at once.
$(function () {
  $("select.filter-select").each(function () {
    var $el = $(this);
    $el.select2({ theme: "bootstrap", language: "zh-CN", width: "100%", placeholder: $el.data("placeholder") || "全部", allowClear: true });
  });
});

// Dates in the filters are picked from a Chinese calendar (bootstrap-datepicker, zh-CN, local).
$(function () {
  $("input.date-input").datepicker({
    language: "zh-CN", format: "yyyy-mm-dd", autoclose: true, todayHighlight: true, clearBtn: true
  });
});

// The filter panel stays as the person left it (open or folded) on every list.
$(function () {
  var panel = document.querySelector("details.filter-controls");
  if (!panel || !window.localStorage) { return; }
  if (localStorage.getItem("filters-folded") === "1" && !document.querySelector(".filter-chips")) { panel.open = false; }
  panel.addEventListener("toggle", function () { localStorage.setItem("filters-folded", panel.open ? "0" : "1"); });
});

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

// Chinese defaults for the widgets, set before ab.js initialises them (no inline script: CSP).
$.fn.select2.defaults.set("language", "zh-CN");
$.fn.datepicker.defaults.language = "zh-CN";

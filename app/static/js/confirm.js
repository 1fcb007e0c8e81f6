// Irreversible steps ask first, in Chinese: a submit button or form with data-confirm opens
// a dialog naming the record and the consequence; only 确定 sends the form.
(function () {
  var dialog;

  function ask(message, onConfirm) {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
      dialog.innerHTML = '<h4 id="confirm-dialog-title">请确认</h4><p class="confirm-text"></p>' +
        '<div class="confirm-buttons"><button type="button" class="btn btn-default" value="cancel">取消</button>' +
        '<button type="button" class="btn btn-danger" value="ok">确定</button></div>';
      document.body.appendChild(dialog);
    }
    dialog.querySelector(".confirm-text").textContent = message;
    var buttons = dialog.querySelectorAll("button");
    buttons[0].onclick = function () { dialog.close(); };
    buttons[1].onclick = function () { dialog.close(); onConfirm(); };
    dialog.showModal();
    buttons[0].focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!message || form.dataset.confirmed === "1") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    ask(message, function () {
      form.dataset.confirmed = "1";
      if (submitter && form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
    });
  }, true);
})();

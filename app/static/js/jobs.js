// A job's page while it waits or runs: ask for its state every 2 seconds, reload once it ends.
(function () {
  var page = document.querySelector('[data-job-progress]');
  if (!page) { return; }
  var url = page.getAttribute('data-job-progress');
  var bar = page.querySelector('.progress-bar');
  function poll() {
    fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.state !== 'queued' && job.state !== 'running') { window.location.reload(); return; }
        if (job.state === 'running' && !bar) { window.location.reload(); return; }
        if (bar && job.total) {
          var percent = Math.floor(job.done * 100 / job.total);
          bar.style.width = percent + '%';
          bar.textContent = percent + '%';
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();

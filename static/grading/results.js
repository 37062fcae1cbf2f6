// The results page while a scoring job is queued or running: poll the job's JSON endpoint about
// once a second, move the progress bar, and reload the page when the job ends (or another job
// replaces it) so that its results show. Without this script the page still works: reloading
// it by hand shows the same progress.

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 30000;

function describe(job) {
  return `${job.status_label}: ${job.progress_percent}% · ${job.sittings_done} of ${job.sittings_total} sittings scored. This page updates itself.`;
}

export function followJob(root) {
  const url = root.dataset.jobUrl;
  const jobId = Number(root.dataset.jobId);
  const bar = root.querySelector("progress");
  const text = root.querySelector("[data-job-text]");
  let failures = 0;

  async function poll() {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const { job } = await response.json();
      failures = 0;
      if (!job || job.id !== jobId || !job.active) {
        window.location.reload();
        return;
      }
      bar.value = job.progress_percent;
      bar.textContent = `${job.progress_percent}%`;
      text.textContent = describe(job);
    } catch (error) {
      failures += 1;
      if (failures >= 3) text.textContent = `Progress unavailable (${error.message}); retrying…`;
    }
    const wait = failures ? Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS) : POLL_MS;
    window.setTimeout(poll, wait);
  }

  window.setTimeout(poll, POLL_MS);
}

const root = document.getElementById("job-progress");
if (root) followJob(root);

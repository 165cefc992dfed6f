//! A low-priority lane for bcrypt: a few threads of its own at a raised nice value, so that
//! when the CPU is contended the request path (parsing, queries, token writes) runs first
//! and bcrypt gets what is left. The password-check permits bound how many checks are in
//! flight, one per lane thread, so no job waits in the lane's queue.

use std::io;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run bcrypt at a lower CPU priority than the request path.
#[derive(Debug, Clone)]
pub struct SlowLane {
    jobs: mpsc::Sender<Job>,
}

impl SlowLane {
    /// `threads` threads (at least one), each at `nice` above the process's priority.
    pub fn start(threads: usize, nice: i32) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            thread::Builder::new()
                .name(format!("grantd-bcrypt-{i}"))
                .spawn(move || {
                    // Linux keeps a nice value per thread. Should lowering it fail, the lane
                    // runs at the normal priority: no worse than bcrypt inline.
                    let _ = rustix::process::nice(nice);
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        job();
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on the lane and waits for its result: `None` if the lane failed it.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        let (done, result) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).ok()?;
        result.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lane_runs_work_at_a_lower_priority_and_returns_its_result() {
        let here = rustix::process::getpriority_process(None).unwrap();
        let lane = SlowLane::start(2, 10).unwrap();
        let there = lane
            .run(|| rustix::process::getpriority_process(None).unwrap())
            .unwrap();
        assert_eq!(there, (here + 10).min(19), "a nice value per lane thread");
        // The calling thread keeps its own priority.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), here);
        assert_eq!(lane.run(|| 6 * 7), Some(42));
    }
}

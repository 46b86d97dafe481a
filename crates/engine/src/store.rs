//! The table of executions and plans by id, with bounded retention of finished ones.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::ExecutionError;
use crate::types::{ExecutionResult, ExecutionStatus, PlanExecutionResult};

/// A claim on an id for one run; finishing or releasing it refers to exactly that run.
#[derive(Debug, Clone)]
pub(crate) struct Reservation {
    pub(crate) id: Uuid,
    generation: u64,
    pub(crate) cancel: CancellationToken,
}

struct Entry {
    generation: u64,
    status: watch::Sender<ExecutionStatus>,
    cancel: CancellationToken,
    result: Option<Arc<ExecutionResult>>,
    plan: Option<Arc<PlanExecutionResult>>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<Uuid, Entry>,
    finished: VecDeque<(Uuid, u64, Instant)>,
    next_generation: u64,
}

/// Holds a reservation and gives it back if dropped while still armed: a refused request
/// (an error, a panic in a gate, a dropped `execute` future) leaves nothing behind.
pub(crate) struct ReleaseOnDrop<'a> {
    store: &'a Store,
    reservation: Option<Reservation>,
}

impl<'a> ReleaseOnDrop<'a> {
    pub(crate) fn new(store: &'a Store, reservation: Reservation) -> Self {
        ReleaseOnDrop {
            store,
            reservation: Some(reservation),
        }
    }

    /// Keeps the reservation: the run goes ahead.
    pub(crate) fn disarm(mut self) -> Reservation {
        self.reservation.take().expect("a guard is disarmed once")
    }
}

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reservation.take() {
            self.store.release(r);
        }
    }
}

/// Executions and plans by id. Finished entries are retired oldest first once there are
/// more than `retain_max` of them or they are older than `retain_for`.
pub(crate) struct Store {
    table: Mutex<Table>,
    retain_max: usize,
    retain_for: Duration,
}

impl Store {
    pub(crate) fn new(retain_max: usize, retain_for: Duration) -> Self {
        Store {
            table: Mutex::new(Table::default()),
            retain_max,
            retain_for,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `id` for a new run; refused while a run under that id has not finished.
    pub(crate) fn reserve(
        &self,
        id: Uuid,
        cancel: CancellationToken,
    ) -> Result<Reservation, ExecutionError> {
        let mut t = self.lock();
        self.prune(&mut t);
        if let Some(e) = t.entries.get(&id)
            && !e.status.borrow().is_terminal()
        {
            return Err(ExecutionError::Validation(format!(
                "{id} is still {}: it cannot be executed again until it finishes",
                *e.status.borrow()
            )));
        }
        t.next_generation += 1;
        let generation = t.next_generation;
        t.entries.insert(
            id,
            Entry {
                generation,
                status: watch::channel(ExecutionStatus::Pending).0,
                cancel: cancel.clone(),
                result: None,
                plan: None,
            },
        );
        Ok(Reservation {
            id,
            generation,
            cancel,
        })
    }

    /// Forgets a reservation that never ran (refused by validation or the gate).
    pub(crate) fn release(&self, r: Reservation) {
        let mut t = self.lock();
        if t.entries
            .get(&r.id)
            .is_some_and(|e| e.generation == r.generation)
        {
            t.entries.remove(&r.id);
        }
    }

    pub(crate) fn set_status(&self, r: &Reservation, status: ExecutionStatus) {
        let t = self.lock();
        if let Some(e) = t
            .entries
            .get(&r.id)
            .filter(|e| e.generation == r.generation)
        {
            e.status.send_replace(status);
        }
    }

    /// Stores the final result (and, for a plan, the per-step result) and wakes waiters.
    pub(crate) fn complete(&self, r: Reservation, result: Arc<ExecutionResult>) {
        self.complete_with(r, result, None);
    }

    pub(crate) fn complete_plan(
        &self,
        r: Reservation,
        result: Arc<ExecutionResult>,
        plan: Arc<PlanExecutionResult>,
    ) {
        self.complete_with(r, result, Some(plan));
    }

    fn complete_with(
        &self,
        r: Reservation,
        result: Arc<ExecutionResult>,
        plan: Option<Arc<PlanExecutionResult>>,
    ) {
        let mut t = self.lock();
        let status = result.status;
        let Some(e) = t
            .entries
            .get_mut(&r.id)
            .filter(|e| e.generation == r.generation)
        else {
            return;
        };
        e.result = Some(result);
        e.plan = plan;
        e.status.send_replace(status);
        t.finished.push_back((r.id, r.generation, Instant::now()));
        self.prune(&mut t);
    }

    fn prune(&self, t: &mut Table) {
        let now = Instant::now();
        while let Some(&(id, generation, at)) = t.finished.front() {
            let too_many = t.finished.len() > self.retain_max;
            let too_old = now.duration_since(at) > self.retain_for;
            if !too_many && !too_old {
                break;
            }
            t.finished.pop_front();
            if t.entries
                .get(&id)
                .is_some_and(|e| e.generation == generation)
            {
                t.entries.remove(&id);
            }
        }
    }

    fn with<T>(
        &self,
        id: Uuid,
        f: impl FnOnce(&Entry) -> Result<T, ExecutionError>,
    ) -> Result<T, ExecutionError> {
        let t = self.lock();
        match t.entries.get(&id) {
            Some(e) => f(e),
            None => Err(ExecutionError::NotFound(id)),
        }
    }

    pub(crate) fn status(&self, id: Uuid) -> Result<ExecutionStatus, ExecutionError> {
        self.with(id, |e| Ok(*e.status.borrow()))
    }

    pub(crate) fn result(&self, id: Uuid) -> Result<Arc<ExecutionResult>, ExecutionError> {
        self.with(id, |e| {
            e.result.clone().ok_or_else(|| ExecutionError::NotFinished {
                id,
                status: *e.status.borrow(),
            })
        })
    }

    pub(crate) fn plan_result(&self, id: Uuid) -> Result<Arc<PlanExecutionResult>, ExecutionError> {
        self.with(id, |e| match (&e.plan, &e.result) {
            (Some(p), _) => Ok(p.clone()),
            (None, Some(_)) => Err(ExecutionError::Validation(format!(
                "{id} is an execution, not a plan"
            ))),
            (None, None) => Err(ExecutionError::NotFinished {
                id,
                status: *e.status.borrow(),
            }),
        })
    }

    pub(crate) fn watch(
        &self,
        id: Uuid,
    ) -> Result<watch::Receiver<ExecutionStatus>, ExecutionError> {
        self.with(id, |e| Ok(e.status.subscribe()))
    }

    pub(crate) fn cancel(&self, id: Uuid) -> Result<(), ExecutionError> {
        self.with(id, |e| {
            e.cancel.cancel();
            Ok(())
        })
    }
}

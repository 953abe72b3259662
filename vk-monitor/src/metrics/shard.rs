//! Per-thread storage for every count this crate records per call or request: the cells behind
//! its counters, histograms and in-flight counts, written by one thread each without an atomic
//! read-modify-write, and summed when metrics are rendered.
//!
//! One atomic counter per series, shared by every thread, made two cores calling one function
//! spend most of each call moving its cache lines between them (several times the cost of a
//! call on one core). Here each thread that records owns an *arena*: its own copy of every cell
//! of every series, laid out at the same index, in chunks no other thread writes. A thread adds
//! to its copy with a plain load and store (no `lock` prefix), and a render sums the copies of
//! a cell over every arena. The cells of one series are adjacent in an arena, so a call touches
//! few lines, and a series costs 8 bytes per cell per arena instead of a padded line.
//!
//! Exactness. Only its owner writes a cell of an arena, and a counter's cell only ever grows
//! (an in-flight cell goes up and down), so a render sees each count as it was at some moment,
//! never torn, and a counter never decreasing from one render to the next. A thread that exits gives its arena back to a free list, counts included, and the next
//! thread to record takes it over and adds on: the counts are never moved, so none is lost or
//! counted twice, and the mutex of the free list orders the last store of one owner before the
//! first load of the next. A thread's arena stays its own until it exits.
//!
//! Memory is bounded by the number of arenas: `2 x cores` (at least 4, at most 256), each a
//! chunk table of 32 KiB plus the 64 KiB chunks of cells its thread touched. Threads beyond
//! that number (a large blocking pool) record into one shared arena with atomic adds, correct
//! under any number of writers, and contended only among themselves. A series of `n` cells
//! costs `8 x n` bytes in each arena that recorded it. At most 16,777,216 cells exist (nearly a
//! million histogram series, far past what a process can render); series made past that record
//! nothing, and the first one says so on stderr.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

/// Cells per chunk: 64 KiB of counts.
const CHUNK_CELLS: usize = 8192;
/// Chunks per arena: the table of one is 32 KiB.
const MAX_CHUNKS: usize = 2048;
/// Unused cells before and after the cells of a chunk, so that no line pair (adjacent-line
/// prefetch works on 128 bytes) holds both a chunk's counts and another allocation's data.
const PAD: usize = 16;
const CHUNK_LEN: usize = CHUNK_CELLS + 2 * PAD;

type Chunk = [AtomicU64; CHUNK_LEN];
/// One thread's chunks, made zero by the first write into them.
type Table = [OnceLock<Box<Chunk>>; MAX_CHUNKS];

/// One thread's copy of every cell (or, `shared`, the copy of the threads that have none).
pub(crate) struct Arena {
    table: Box<Table>,
    /// Written by any number of threads, with atomic adds.
    shared: bool,
}

impl Arena {
    fn new(shared: bool) -> Arena {
        // Built on the heap: a table on the stack could overflow a small thread stack.
        let table: Box<[OnceLock<Box<Chunk>>]> = (0..MAX_CHUNKS).map(|_| OnceLock::new()).collect();
        let Ok(table) = table.try_into() else {
            unreachable!("the slice has the table's length")
        };
        Arena { table, shared }
    }

    /// The cells, if their chunk was ever written.
    fn written_run(&self, first: usize, len: usize) -> Option<&[AtomicU64]> {
        let chunk = self.table.get(first / CHUNK_CELLS)?.get()?;
        let start = PAD + first % CHUNK_CELLS;
        chunk.get(start..start + len)
    }
}

/// The cells `first..first + len` of `table`, its chunk made on the first write; `None` past
/// the last chunk.
#[inline]
fn run(table: &'static Table, first: usize, len: usize) -> Option<&'static [AtomicU64]> {
    let slot = table.get(first / CHUNK_CELLS)?;
    let chunk = match slot.get() {
        Some(chunk) => chunk,
        None => new_chunk(slot),
    };
    let start = PAD + first % CHUNK_CELLS;
    chunk.get(start..start + len)
}

#[cold]
#[inline(never)]
fn new_chunk(slot: &OnceLock<Box<Chunk>>) -> &Chunk {
    slot.get_or_init(|| {
        // Built on the heap, like the table.
        let cells: Box<[AtomicU64]> = (0..CHUNK_LEN).map(|_| AtomicU64::new(0)).collect();
        let Ok(chunk) = cells.try_into() else {
            unreachable!("the slice has the chunk's length")
        };
        chunk
    })
}

/// The arenas threads own or owned, and those free to take.
struct Arenas {
    /// Every owned arena ever made: a render sums them all, owned or free.
    all: Vec<&'static Arena>,
    free: Vec<&'static Arena>,
    limit: usize,
}

static ARENAS: Mutex<Arenas> = Mutex::new(Arenas {
    all: Vec::new(),
    free: Vec::new(),
    limit: 0,
});

static SHARED: LazyLock<Arena> = LazyLock::new(|| Arena::new(true));

/// How many threads may own an arena at once: twice the cores, for the runtime's workers and
/// the few other threads that record.
fn arena_limit() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (2 * cores).clamp(4, 256)
}

thread_local! {
    /// The chunk table this thread records into; `None` until its first record. Kept apart
    /// from its arena, so a record finds its cells with one load less.
    static LOCAL: Cell<Option<&'static Table>> = const { Cell::new(None) };
    /// Whether that table is the shared arena's.
    static LOCAL_SHARED: Cell<bool> = const { Cell::new(false) };
    /// Gives this thread's arena back when the thread exits.
    static OWNED: Owner = const { Owner(Cell::new(None)) };
}

struct Owner(Cell<Option<&'static Arena>>);

impl Drop for Owner {
    fn drop(&mut self) {
        let Some(arena) = self.0.take() else {
            return;
        };
        // Whatever records on this thread from here on (other thread-locals' destructors) goes
        // to the shared arena: the next owner of this one may be writing it already.
        set_local(&SHARED);
        lock().free.push(arena);
    }
}

fn set_local(arena: &'static Arena) {
    let _ = LOCAL_SHARED.try_with(|shared| shared.set(arena.shared));
    let _ = LOCAL.try_with(|local| local.set(Some(&arena.table)));
}

fn lock() -> std::sync::MutexGuard<'static, Arenas> {
    ARENAS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This thread's chunk table, and whether it is shared.
#[inline]
fn local() -> (&'static Table, bool) {
    match LOCAL.try_with(Cell::get) {
        Ok(Some(table)) => (table, LOCAL_SHARED.with(Cell::get)),
        Ok(None) => claim(),
        // Only a destructor of a thread-local can record this late; `LOCAL` has none itself.
        Err(_) => (&SHARED.table, true),
    }
}

#[cold]
#[inline(never)]
fn claim() -> (&'static Table, bool) {
    let arena = OWNED
        .try_with(|owner| {
            let mut arenas = lock();
            let arena = match arenas.free.pop() {
                Some(arena) => arena,
                None => {
                    if arenas.limit == 0 {
                        arenas.limit = arena_limit();
                    }
                    if arenas.all.len() >= arenas.limit {
                        return &*SHARED;
                    }
                    let arena: &'static Arena = Box::leak(Box::new(Arena::new(false)));
                    arenas.all.push(arena);
                    arena
                }
            };
            owner.0.set(Some(arena));
            arena
        })
        // The thread is exiting: it cannot be given an arena back, so it shares.
        .unwrap_or(&SHARED);
    set_local(arena);
    (&arena.table, arena.shared)
}

/// The next free cell index.
static NEXT_CELL: Mutex<usize> = Mutex::new(0);
static EXHAUSTED: AtomicBool = AtomicBool::new(false);

/// A run of adjacent cells, one copy per arena, all zero when made. Copies are summed by
/// [`Cells::read`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cells {
    first: u32,
    len: u32,
}

impl Cells {
    /// `len` new cells (`len` at most a chunk); past the last cell, a run that records
    /// nothing.
    pub(crate) fn new(len: usize) -> Cells {
        let len = len.min(CHUNK_CELLS);
        let mut next = NEXT_CELL.lock().unwrap_or_else(PoisonError::into_inner);
        // A run stays inside one chunk, so a call finds all of it with one lookup.
        if *next % CHUNK_CELLS + len > CHUNK_CELLS {
            *next = next.next_multiple_of(CHUNK_CELLS);
        }
        let first = *next;
        if first + len > CHUNK_CELLS * MAX_CHUNKS {
            if !EXHAUSTED.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "vk-monitor: every one of the {} metric cells is in use; series made from \
                     now on record nothing",
                    CHUNK_CELLS * MAX_CHUNKS
                );
            }
            return Cells {
                first: u32::MAX,
                len: len as u32,
            };
        }
        *next = first + len;
        Cells {
            first: first as u32,
            len: len as u32,
        }
    }

    /// This thread's copy, to add to.
    #[inline]
    pub(crate) fn local(self) -> Local {
        let (table, shared) = local();
        Local {
            cells: run(table, self.first as usize, self.len as usize).unwrap_or_default(),
            shared,
        }
    }

    /// Adds `n` to cell `index` of this thread's copy.
    #[inline]
    pub(crate) fn add(self, index: usize, n: u64) {
        self.local().add(index, n);
    }

    /// The sum of every copy, per cell, into `out` (as long as the run). A count is read as
    /// it was at some moment since the last read, never less; `u64` counts that wrap (the low
    /// word of a wide sum) are summed wrapping.
    ///
    /// Loads acquire: a count read includes every store its writer made before that one, on
    /// this cell and others (a histogram's bucket count read implies its sum).
    pub(crate) fn read(self, arenas: &Folding, out: &mut [u64]) {
        let out = &mut out[..self.len as usize];
        out.fill(0);
        for arena in &arenas.arenas {
            if let Some(cells) = arena.written_run(self.first as usize, self.len as usize) {
                for (sum, cell) in out.iter_mut().zip(cells) {
                    *sum = sum.wrapping_add(cell.load(Ordering::Acquire));
                }
            }
        }
    }

    /// The sum of cell `index` over every copy, wrapping.
    pub(crate) fn read_one(self, arenas: &Folding, index: usize) -> u64 {
        let mut sum = 0u64;
        for arena in &arenas.arenas {
            if let Some(cell) = arena
                .written_run(self.first as usize, self.len as usize)
                .and_then(|cells| cells.get(index))
            {
                sum = sum.wrapping_add(cell.load(Ordering::Acquire));
            }
        }
        sum
    }

    /// The sum of the wide counts (low word at `index`, high word after it) over every copy.
    /// Reads each copy's high word first: a copy whose low word has wrapped but whose high
    /// word is not yet counted reads 2^64 short, for a few instructions, never more than it
    /// holds.
    pub(crate) fn read_wide(self, arenas: &Folding, index: usize) -> u128 {
        let mut sum = 0u128;
        for arena in &arenas.arenas {
            if let Some(cells) = arena.written_run(self.first as usize, self.len as usize)
                && let (Some(low), Some(high)) = (cells.get(index), cells.get(index + 1))
            {
                let high = high.load(Ordering::Acquire);
                let low = low.load(Ordering::Relaxed);
                sum = sum.wrapping_add((u128::from(high) << 64) | u128::from(low));
            }
        }
        sum
    }
}

/// One thread's copy of a run of cells.
pub(crate) struct Local {
    cells: &'static [AtomicU64],
    shared: bool,
}

impl Local {
    /// Adds `n` to cell `index`, wrapping.
    #[inline]
    pub(crate) fn add(&self, index: usize, n: u64) {
        let Some(cell) = self.cells.get(index) else {
            return;
        };
        if self.shared {
            cell.fetch_add(n, Ordering::Release);
        } else {
            // Only this thread writes the cell; Release so that a reader that sees this count
            // sees everything this thread did before (see `Cells::read`).
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Release,
            );
        }
    }

    /// Adds `n` to the 128-bit count whose low word is cell `index` and high word the next.
    /// The high word is counted after the low word wraps, so a reader (high first) never sees
    /// more than was added.
    #[inline]
    pub(crate) fn add_wide(&self, index: usize, n: u64) {
        let Some(low) = self.cells.get(index) else {
            return;
        };
        let before = if self.shared {
            low.fetch_add(n, Ordering::Relaxed)
        } else {
            let before = low.load(Ordering::Relaxed);
            low.store(before.wrapping_add(n), Ordering::Relaxed);
            before
        };
        if before.checked_add(n).is_none() {
            self.count_wrap(index + 1);
        }
    }

    /// Exactly one add wraps a copy's low word each time, and only that add sees it wrap.
    #[cold]
    #[inline(never)]
    fn count_wrap(&self, high: usize) {
        if let Some(high) = self.cells.get(high) {
            // Release: a reader that sees this wrap counted also sees the add that wrapped.
            if self.shared {
                high.fetch_add(1, Ordering::Release);
            } else {
                high.store(high.load(Ordering::Relaxed) + 1, Ordering::Release);
            }
        }
    }
}

/// The arenas a render sums, taken once per render so the lock is not held while it formats.
pub(crate) struct Folding {
    arenas: Vec<&'static Arena>,
}

/// Every arena with counts in it: the owned ones (with or without an owner) and the shared one.
pub(crate) fn folding() -> Folding {
    let mut arenas = lock().all.clone();
    arenas.push(&SHARED);
    Folding { arenas }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    #[test]
    fn copies_are_summed_over_every_thread_that_ever_recorded() {
        let cells = Cells::new(3);
        cells.add(0, 1);
        // Threads one after another: each may take over the arena the last one gave back.
        for _ in 0..10 {
            std::thread::spawn(move || {
                cells.add(1, 2);
                cells.add(2, 5);
            })
            .join()
            .unwrap();
        }
        let mut out = [0; 3];
        cells.read(&folding(), &mut out);
        assert_eq!(out, [1, 20, 50]);
        assert_eq!(cells.read_one(&folding(), 2), 50);
    }

    #[test]
    fn threads_past_the_limit_share_an_arena_and_count_exactly() {
        let cells = Cells::new(1);
        let threads = arena_limit() + 40;
        let together = Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    // All alive at once, so some find every arena taken.
                    together.wait();
                    for _ in 0..1_000 {
                        cells.add(0, 1);
                    }
                });
            }
        });
        assert_eq!(cells.read_one(&folding(), 0), threads as u64 * 1_000);
        assert!(lock().all.len() <= arena_limit());
    }

    #[test]
    fn a_wide_count_carries_into_its_high_word() {
        let cells = Cells::new(2);
        let local = cells.local();
        local.add_wide(0, u64::MAX - 1);
        local.add_wide(0, 3);
        assert_eq!(cells.read_wide(&folding(), 0), u128::from(u64::MAX) + 2);
        std::thread::spawn(move || cells.local().add_wide(0, u64::MAX))
            .join()
            .unwrap();
        let expected = 2 * u128::from(u64::MAX) + 2;
        assert_eq!(cells.read_wide(&folding(), 0), expected);
    }

    #[test]
    fn runs_never_straddle_a_chunk() {
        let runs: Vec<Cells> = (0..3_000).map(|_| Cells::new(17)).collect();
        for run in runs {
            let first = run.first as usize;
            assert_eq!(first / CHUNK_CELLS, (first + 16) / CHUNK_CELLS, "{run:?}");
        }
    }
}

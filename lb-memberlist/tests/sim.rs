//! Cluster behaviour in the simulator: crash, pause, partition, leave, loss.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use lb_memberlist::sim::{Sim, SimConfig};
use lb_memberlist::{Config, Event, State};

const S: fn(u64) -> Duration = Duration::from_secs;

fn cluster(n: usize, config: &Config, net: SimConfig) -> Sim {
    let mut sim = Sim::new(net);
    for _ in 0..n {
        sim.add_node(config.clone());
    }
    sim.join_all(0);
    sim
}

/// Every running node other than `who` sees `who` in `state`.
fn all_see(sim: &Sim, who: usize, state: State, except: &[usize]) -> bool {
    let name = Sim::name(who);
    (0..sim.len())
        .filter(|&i| i != who && !except.contains(&i))
        .all(|i| sim.node(i).member(&name).map(|m| m.state) == Some(state))
}

fn converged(sim: &Sim, n: usize) -> bool {
    (0..n).all(|i| sim.node(i).count(State::Alive) == n)
}

/// (time, observer, event kind, member) of every event.
type Log = Rc<RefCell<Vec<(Duration, usize, &'static str, String)>>>;

fn record(sim: &mut Sim) -> Log {
    let log: Log = Rc::default();
    let l = log.clone();
    sim.set_observer(move |t, i, ev| {
        let (kind, name) = match ev {
            Event::Joined(m) => ("joined", m.name.clone()),
            Event::Updated(m) => ("updated", m.name.clone()),
            Event::Suspect(m) => ("suspect", m.name.clone()),
            Event::Alive(m) => ("alive", m.name.clone()),
            Event::Dead(m) => ("dead", m.name.clone()),
            Event::Left(m) => ("left", m.name.clone()),
            Event::User(_) => ("user", String::new()),
            Event::JoinCompleted { ok, .. } => {
                (if *ok { "join-ok" } else { "join-failed" }, String::new())
            }
        };
        l.borrow_mut().push((t, i, kind, name));
    });
    log
}

fn count(log: &Log, kind: &str, name: &str) -> usize {
    log.borrow()
        .iter()
        .filter(|e| e.2 == kind && e.3 == name)
        .count()
}

#[test]
fn joins_converge() {
    for config in [Config::lan(), Config::fast()] {
        let mut sim = cluster(20, &config, SimConfig::default());
        assert!(
            sim.run_while_not(S(30), |s| converged(s, 20)),
            "{:?}",
            config.probe_interval
        );
    }
}

#[test]
fn a_crashed_node_is_declared_dead_by_every_member() {
    for config in [Config::lan(), Config::fast()] {
        let mut sim = cluster(20, &config, SimConfig::default());
        assert!(sim.run_while_not(S(30), |s| converged(s, 20)));
        sim.crash(7);
        let t0 = sim.elapsed();
        assert!(sim.run_while_not(S(120), |s| all_see(s, 7, State::Dead, &[])));
        eprintln!("detected in {:?}", sim.elapsed() - t0);
        // And no one else is suspected.
        assert!(
            (0..20)
                .filter(|&i| i != 7)
                .all(|i| sim.node(i).count(State::Alive) == 19)
        );
    }
}

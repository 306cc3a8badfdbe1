//! [`RedisCluster`]: a real three-node Redis Cluster on loopback (three `redis-server`
//! processes with `--cluster-enabled yes`, joined by `redis-cli --cluster create`, no
//! replicas), for tests that prove the stores' keys and commands respect hash slots.

use std::time::Duration;

use crate::poll::poll_until;
use crate::redis_server::RedisServer;

/// Nodes of the test cluster (the smallest Redis accepts).
const NODES: usize = 3;
/// How long the cluster may take to agree on its slots.
const FORM_TIMEOUT: Duration = Duration::from_secs(20);

/// A running cluster; its nodes are killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts the cluster, or `None` (with a loud message) when redis-server is missing
    /// outside CI.
    pub async fn start() -> Option<Self> {
        let dir = tempfile::Builder::new()
            .prefix("llm-gateway-redis-cluster-")
            .tempdir()
            .expect("a temporary directory");
        let mut nodes = Vec::new();
        for i in 0..NODES {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .expect("bind")
                .local_addr()
                .expect("addr")
                .port();
            let conf = dir.path().join(format!("nodes-{i}.conf"));
            let args = [
                "--port".to_owned(),
                port.to_string(),
                "--cluster-enabled".to_owned(),
                "yes".to_owned(),
                "--cluster-config-file".to_owned(),
                conf.display().to_string(),
                "--dir".to_owned(),
                dir.path().display().to_string(),
            ];
            nodes.push(RedisServer::spawn_with(port, &args).await?);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let created = tokio::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await
            .expect("run redis-cli --cluster create");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        // Every node must see every slot assigned before clients can use it.
        for addr in &addrs {
            let port = addr.rsplit(':').next().unwrap_or_default().to_owned();
            poll_until("the cluster agrees on its slots", FORM_TIMEOUT, || {
                let port = port.clone();
                async move {
                    let out = tokio::process::Command::new("redis-cli")
                        .args(["-p", &port, "cluster", "info"])
                        .output()
                        .await
                        .ok()?;
                    String::from_utf8_lossy(&out.stdout)
                        .contains("cluster_state:ok")
                        .then_some(())
                }
            })
            .await;
        }
        Some(Self { nodes, _dir: dir })
    }

    /// The seed node URLs (`redis://127.0.0.1:PORT`, one per node).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

package dev.miroverse.neo4j;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.config.Setting;

/**
 * Runs a Neo4j Community server for miroverse: Bolt only, on a loopback port, with its
 * store under a home directory that outlives the process, so that stopping and starting
 * again keeps the graph (the fault test depends on that).
 *
 * <p>Usage: {@code Server --home DIR --port N}. The password of user {@code neo4j} comes
 * from the environment variable NEO4J_PASSWORD (default {@code miroverse-test}); it is set
 * at every start, so changing the variable and restarting changes the password.
 *
 * <p>When Bolt is listening and the password is in place, the file {@code DIR/ready} is
 * written with the port; scripts/neo4j waits for it, because Bolt accepts connections a
 * moment before the password is set and a client connecting then would be refused.
 */
public final class Server {
    private static final String DEFAULT_PASSWORD = "miroverse-test";
    private static final long MIB = 1024L * 1024L;

    private Server() {}

    public static void main(String[] args) throws Exception {
        Path home = null;
        int port = -1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + a);
            }
            switch (a) {
                case "--home" -> home = Path.of(args[++i]).toAbsolutePath();
                case "--port" -> port = parsePort(args[++i]);
                default -> usage("unknown argument " + a);
            }
        }
        if (home == null || port < 0) {
            usage("--home and --port are required");
        }
        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "");
        if (password.isEmpty()) {
            password = DEFAULT_PASSWORD;
        }

        Files.createDirectories(home);
        Path ready = home.resolve("ready");
        Files.deleteIfExists(ready);

        long pageCache = envMiB("NEO4J_PAGECACHE_MB", 256);
        Map<Setting<?>, Object> config = new HashMap<>();
        config.put(BoltConnector.enabled, true);
        config.put(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port));
        config.put(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port));
        // The databases are stopped before Bolt, so Bolt's two 5 s grace periods for
        // connections and worker threads at shutdown only delay `scripts/neo4j stop`.
        config.put(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1));
        config.put(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1));
        config.put(HttpConnector.enabled, false);
        config.put(HttpsConnector.enabled, false);
        config.put(GraphDatabaseSettings.auth_enabled, true);
        // Tests try a wrong password on purpose while other tests use the right one on
        // the same server; the default lock after 3 failures would fail those for 5 s.
        config.put(GraphDatabaseSettings.auth_max_failed_attempts, 0);
        config.put(GraphDatabaseSettings.pagecache_memory, pageCache * MIB);
        // A test machine, not a production store: keep little transaction log and do
        // not reserve disk for it up front.
        config.put(GraphDatabaseSettings.keep_logical_logs, "2 files");
        config.put(GraphDatabaseSettings.logical_log_rotation_threshold, 64 * MIB);
        config.put(GraphDatabaseSettings.preallocate_logical_logs, false);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(config)
                .build();

        // Registered right after build so that a SIGTERM during the password step
        // still closes the store cleanly; an unclean stop would only cost a recovery.
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("shutting down");
            try {
                dbms.shutdown();
            } finally {
                stopped.countDown();
                log("stopped");
            }
        }, "neo4j-shutdown"));

        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            log("cannot set the password of user neo4j: " + e.getMessage());
            System.exit(2);
        }

        // Written atomically: the script must never read a half-written port.
        Path tmp = home.resolve("ready.tmp");
        Files.writeString(tmp, port + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, ready, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        log("ready: bolt://127.0.0.1:" + port + " home " + home);

        stopped.await();
    }

    /**
     * Sets the password through the system database, which an embedded caller reaches
     * without logging in. A fresh store has the password "neo4j" with a change required,
     * which would make every driver session fail until someone changed it by hand.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException e) {
            // A restart with the same password: Neo4j refuses to "change" a password
            // to itself, which here means there is nothing to do. The change-required
            // flag was cleared by the start that set it.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
    }

    private static int parsePort(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p > 0 && p < 65536) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        usage("bad port " + s);
        return -1;
    }

    private static long envMiB(String name, long def) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            return def;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            usage(name + " must be a number of MiB, not " + v);
            return def;
        }
    }

    private static void usage(String why) {
        System.err.println("neo4j-harness: " + why);
        System.err.println("usage: Server --home DIR --port N   (password from NEO4J_PASSWORD)");
        System.exit(64);
    }

    private static void log(String msg) {
        System.out.println("miroverse-neo4j: " + msg);
        System.out.flush();
    }
}

package io.wharf.bench;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Turns one {@code run.sh} run (the simulator's TSV lines, wrk's, the machine description and
 * optionally JMH's output) into {@code BENCHMARKS.md}. It only formats what was measured: no
 * number here is typed in by hand, and a missing measurement stays an empty cell.
 */
public final class Report {
  private Report() {}

  record Row(Map<String, String> cols) {
    String get(String k) {
      return cols.getOrDefault(k, "");
    }

    double num(String k) {
      try {
        return Double.parseDouble(get(k));
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
    }
  }

  static List<Row> readTsv(Path p) throws IOException {
    List<Row> rows = new ArrayList<>();
    if (p == null || !Files.exists(p)) {
      return rows;
    }
    List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
    if (lines.isEmpty()) {
      return rows;
    }
    String[] header = lines.get(0).split("\t", -1);
    for (String line : lines.subList(1, lines.size())) {
      if (line.isBlank() || line.startsWith(header[0] + "\t")) {
        continue;
      }
      String[] v = line.split("\t", -1);
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < header.length; i++) {
        m.put(header[i], i < v.length ? v[i] : "");
      }
      rows.add(new Row(m));
    }
    return rows;
  }

  /** MiB, with one decimal below 10 MiB so that small runs do not show 0. */
  static String mib(double bytes) {
    if (Double.isNaN(bytes) || bytes < 0) {
      return "";
    }
    double m = bytes / (1 << 20);
    return String.format(Locale.ROOT, m > 0 && m < 10 ? "%.1f" : "%.0f", m);
  }

  static String num(double v, String fmt) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, fmt, v);
  }

  static String ratio(double peer, double wharf) {
    if (Double.isNaN(peer) || Double.isNaN(wharf) || wharf <= 0) {
      return "";
    }
    return String.format(Locale.ROOT, "%.1f×", peer / wharf);
  }

  /** The pull table: one row per scenario and target. */
  static String pullTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| scenario | target | nodes ok | wall s | pull p50 ms | p90 ms | p99 ms "
        + "| layer TTFB leader ms | followers p50 / p99 ms | upstream blob GETs (max/blob) "
        + "| upstream MiB | served MiB | upstream saving |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      double up = r.num("upstream_bytes");
      double served = r.num("client_bytes");
      String saving = up >= 0 && served > 0 ? num(100 * (1 - up / served), "%.1f %%") : "";
      sb.append("| ").append(r.get("scenario"))
          .append(" | ").append(r.get("target"))
          .append(" | ").append(r.get("ok")).append('/').append(r.get("nodes"))
          .append(" | ").append(num(r.num("wall_ms") / 1000, "%.2f"))
          .append(" | ").append(r.get("p50_ms"))
          .append(" | ").append(r.get("p90_ms"))
          .append(" | ").append(r.get("p99_ms"))
          .append(" | ").append(r.get("leader_ttfb_ms"))
          .append(" | ").append(r.get("follower_ttfb_p50_ms")).append(" / ").append(r.get("follower_ttfb_p99_ms"))
          .append(" | ").append(r.get("upstream_blob_gets")).append(" (").append(r.get("max_gets_per_blob")).append(')')
          .append(" | ").append(mib(up)).append(copies(r))
          .append(" | ").append(mib(served))
          .append(" | ").append(saving)
          .append(" |\n");
    }
    return sb.toString();
  }

  /** " (1.0×)": upstream bytes over one copy of every image pulled, when both are known. */
  static String copies(Row r) {
    double up = r.num("upstream_bytes");
    double one = r.num("image_bytes");
    return up >= 0 && one > 0 ? String.format(Locale.ROOT, " (%.2f×)", up / one) : "";
  }

  static List<Row> scenarios(List<Row> rows, String prefix) {
    return rows.stream().filter(r -> r.get("scenario").startsWith(prefix)).toList();
  }

  /** Zipf rows: how the nodes spread over the images and what went upstream for them. */
  static String zipfTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| scenario | target | nodes ok | images pulled | upstream blob GETs (max/blob) "
        + "| upstream MiB (copies of the pulled images) | pull p50 / p99 ms |\n");
    sb.append("|---|---|---|---|---|---|---|\n");
    for (Row r : scenarios(rows, "zipf-")) {
      sb.append("| ").append(r.get("scenario")).append(" | ").append(r.get("target"))
          .append(" | ").append(r.get("ok")).append('/').append(r.get("nodes"))
          .append(" | ").append(r.get("images"))
          .append(" | ").append(r.get("upstream_blob_gets")).append(" (").append(r.get("max_gets_per_blob")).append(')')
          .append(" | ").append(mib(r.num("upstream_bytes"))).append(copies(r))
          .append(" | ").append(r.get("p50_ms")).append(" / ").append(r.get("p99_ms"))
          .append(" |\n");
    }
    return sb.toString();
  }

  /** Failing-upstream rows: who survived the resets, and how much was fetched again. */
  static String failingTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| scenario | target | nodes ok | upstream resets | upstream blob GETs (max/blob) "
        + "| of them with Range | upstream MiB (copies of the image) | pull p50 / p99 ms | first error |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : scenarios(rows, "failing-")) {
      sb.append("| ").append(r.get("scenario")).append(" | ").append(r.get("target"))
          .append(" | ").append(r.get("ok")).append('/').append(r.get("nodes"))
          .append(" | ").append(r.get("upstream_resets"))
          .append(" | ").append(r.get("upstream_blob_gets")).append(" (").append(r.get("max_gets_per_blob")).append(')')
          .append(" | ").append(r.get("upstream_range_gets"))
          .append(" | ").append(mib(r.num("upstream_bytes"))).append(copies(r))
          .append(" | ").append(r.get("p50_ms")).append(" / ").append(r.get("p99_ms"))
          .append(" | ").append(r.get("first_error").isBlank() ? "" : "`" + r.get("first_error").replace("`", "'").replace("|", "\\|") + "`")
          .append(" |\n");
    }
    return sb.toString();
  }

  /** Slow-clients rows, one per target. */
  static String slowTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| target | JVM options | connections held / opened / asked | ramp s | errors "
        + "| read pace B/s per connection | received per connection, min / median KiB "
        + "| full drains verified | heap used max MiB | heap live after GC max MiB "
        + "| direct buffers max MiB | RSS max MiB | errors by kind |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      sb.append("| ").append(r.get("target"))
          .append(" | ").append(r.get("java_opts").isBlank() ? "" : "`" + r.get("java_opts") + "`")
          .append(" | ").append(r.get("held")).append(" / ").append(r.get("opened")).append(" / ").append(r.get("connections"))
          .append(" | ").append(r.get("ramp_s"))
          .append(" | ").append(r.get("errors"))
          .append(" | ").append(r.get("read_bytes_per_s"))
          .append(" | ").append(num(r.num("min_received") / 1024, "%.0f")).append(" / ")
          .append(num(r.num("median_received") / 1024, "%.0f"))
          .append(" | ").append(r.get("full_ok")).append('/').append(r.get("full_checked"))
          .append(" | ").append(mib(r.num("heap_max_bytes")))
          .append(" | ").append(mib(r.num("heap_live_max_bytes")))
          .append(" | ").append(mib(r.num("direct_max_bytes")))
          .append(" | ").append(mib(r.num("rss_max_bytes")))
          .append(" | ").append(r.get("first_error").isBlank() ? "" : "`" + r.get("first_error").replace("`", "'").replace("|", "\\|") + "`")
          .append(" |\n");
    }
    return sb.toString();
  }

  /** Peer ÷ Wharf for every scenario both ran: above 1× means Wharf did better. */
  static String ratioTable(List<Row> rows) {
    Map<String, Row> wharf = new LinkedHashMap<>();
    Set<String> scenarios = new LinkedHashSet<>();
    for (Row r : rows) {
      scenarios.add(r.get("scenario"));
      if (r.get("target").equals("wharf")) {
        wharf.put(r.get("scenario"), r);
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("| scenario | peer | wall time, peer ÷ Wharf | median pull, peer ÷ Wharf "
        + "| upstream bytes, peer ÷ Wharf | failed nodes, peer / Wharf |\n");
    sb.append("|---|---|---|---|---|---|\n");
    for (String s : scenarios) {
      Row w = wharf.get(s);
      if (w == null) {
        continue;
      }
      for (Row r : rows) {
        if (!r.get("scenario").equals(s) || r.get("target").equals("wharf")) {
          continue;
        }
        double wu = w.num("upstream_bytes");
        double pu = r.num("upstream_bytes");
        String upRatio = wu > 0 ? ratio(pu, wu) : (pu == 0 ? "both 0" : "Wharf 0, peer " + mib(pu) + " MiB");
        sb.append("| ").append(s).append(" | ").append(r.get("target"))
            .append(" | ").append(ratio(r.num("wall_ms"), w.num("wall_ms")))
            .append(" | ").append(ratio(r.num("p50_ms"), w.num("p50_ms")))
            .append(" | ").append(upRatio)
            .append(" | ").append(r.get("failed")).append(" / ").append(w.get("failed"))
            .append(" |\n");
      }
    }
    return sb.toString();
  }

  static String wrkTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| target | endpoint | req/s | transfer/s | latency p50 | latency p99 | non-2xx "
        + "| socket errors | upstream requests during the run |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      sb.append("| ").append(r.get("target")).append(" | ").append(r.get("endpoint"))
          .append(" | ").append(r.get("requests_per_s")).append(" | ").append(r.get("transfer_per_s"))
          .append(" | ").append(r.get("latency_p50")).append(" | ").append(r.get("latency_p99"))
          .append(" | ").append(r.get("non_2xx")).append(" | ").append(r.get("socket_errors"))
          .append(" | ").append(r.get("upstream_requests")).append(" |\n");
    }
    return sb.toString();
  }

  static String failures(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    for (Row r : rows) {
      if (!r.get("failed").equals("0") && !r.get("first_error").isBlank()) {
        sb.append("- ").append(r.get("target")).append(", ").append(r.get("scenario")).append(": ")
            .append(r.get("failed")).append(" of ").append(r.get("nodes"))
            .append(" nodes failed; first error: `").append(r.get("first_error").replace("`", "'"))
            .append("`\n");
      }
    }
    return sb.toString();
  }

  // ---- the cluster scenario (cluster.sh): its own section, kept when run.sh rewrites the file ----

  static final String CLUSTER_BEGIN = "<!-- cluster-scenario:begin (written by proxy-bench/cluster.sh) -->";
  static final String CLUSTER_END = "<!-- cluster-scenario:end -->";

  /**
   * One row per cluster scenario (the simulator's {@code target} column names it); instances from
   * {@code meta}'s {@code instances.<scenario>}; upstream bytes against the {@code single} row's.
   */
  static String clusterTable(List<Row> rows, Properties meta) {
    double single = rows.stream().filter(r -> r.get("target").equals("single"))
        .mapToDouble(r -> r.num("upstream_bytes")).findFirst().orElse(Double.NaN);
    StringBuilder sb = new StringBuilder();
    sb.append("| scenario | instances | nodes ok | wall s | pull p50 ms | p90 ms | p99 ms "
        + "| upstream blob GETs | max GETs per blob | image blobs | upstream MiB | upstream bytes vs single |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      sb.append("| ").append(r.get("target"))
          .append(" | ").append(meta.getProperty("instances." + r.get("target"), ""))
          .append(" | ").append(r.get("ok")).append('/').append(r.get("nodes"))
          .append(" | ").append(num(r.num("wall_ms") / 1000, "%.2f"))
          .append(" | ").append(r.get("p50_ms"))
          .append(" | ").append(r.get("p90_ms"))
          .append(" | ").append(r.get("p99_ms"))
          .append(" | ").append(r.get("upstream_blob_gets"))
          .append(" | ").append(r.get("max_gets_per_blob"))
          .append(" | ").append(r.get("image_blobs"))
          .append(" | ").append(mib(r.num("upstream_bytes")))
          .append(" | ").append(ratio(r.num("upstream_bytes"), single))
          .append(" |\n");
    }
    return sb.toString();
  }

  /** The whole cluster section, markers included. */
  static String clusterSection(List<Row> rows, Properties meta) {
    StringBuilder md = new StringBuilder();
    md.append(CLUSTER_BEGIN).append("\n## Cluster scenario\n\n")
        .append("Measured by `proxy-bench/cluster.sh` (written by `io.wharf.bench.Report --cluster`; ")
        .append("a re-run replaces this section only, and `run.sh` keeps it). One synthetic upstream ")
        .append("on the same WAN uplink as above; per scenario fresh Wharf processes with empty stores, ")
        .append("a separate cold image, and N nodes spread round-robin over the entry instances ")
        .append("(node i pulls through instance i mod k, as a Service would spread them):\n\n")
        .append("- **single**: one Wharf (the baseline);\n")
        .append("- **independent-3**: three Wharfs that know nothing of each other (what a site has ")
        .append("without `peers:`; up to three upstream GETs per blob);\n")
        .append("- **peers-3**: three Wharfs with `peers:` (static members, shared token);\n")
        .append("- **hierarchy-3x1**: three cluster Wharfs whose upstream is one site Wharf ")
        .append("(`kind: wharf`), which alone talks to the upstream; nodes pull through the cluster ")
        .append("Wharfs.\n\n")
        .append("Upstream blob GETs and bytes are counted by the synthetic upstream (for hierarchy: ")
        .append("the site Wharf's GETs). Every node verifies the sha256 of every blob.\n\n")
        .append("| | |\n|---|---|\n");
    for (String k : List.of("command", "date", "commit", "nproc", "memory", "cpu", "jdk", "wan",
        "image", "nodes", "deadline_s", "wharf_opts", "load_before", "load_after", "duration_s")) {
      String v = meta.getProperty(k);
      if (v != null) {
        md.append("| ").append(k).append(" | ")
            .append(k.equals("command") ? "`" + v + "`" : v.replace("|", "\\|")).append(" |\n");
      }
    }
    md.append('\n').append(clusterTable(rows, meta));
    List<Row> failed = rows.stream().filter(r -> !r.get("first_error").isEmpty()).toList();
    if (!failed.isEmpty()) {
      md.append("\nFirst failure per scenario:\n\n");
      failed.forEach(r -> md.append("- ").append(r.get("target")).append(": `")
          .append(r.get("first_error").replace("`", "'")).append("`\n"));
    }
    return md.append('\n').append(CLUSTER_END).append('\n').toString();
  }

  /** The marked cluster section of {@code doc}, markers included; "" when it has none. */
  static String clusterSectionOf(String doc) {
    int b = doc.indexOf(CLUSTER_BEGIN);
    int e = b < 0 ? -1 : doc.indexOf(CLUSTER_END, b);
    return e < 0 ? "" : doc.substring(b, e + CLUSTER_END.length()) + "\n";
  }

  /** {@code doc} with its marked cluster section replaced by {@code section}, or with it appended. */
  static String withClusterSection(String doc, String section) {
    int b = doc.indexOf(CLUSTER_BEGIN);
    int e = b < 0 ? -1 : doc.indexOf(CLUSTER_END, b);
    if (e < 0) {
      return doc + (doc.isEmpty() || doc.endsWith("\n\n") ? "" : doc.endsWith("\n") ? "\n" : "\n\n")
          + section;
    }
    int after = e + CLUSTER_END.length();
    if (after < doc.length() && doc.charAt(after) == '\n') {
      after++;
    }
    return doc.substring(0, b) + section + doc.substring(after);
  }

  /** {@code Report --cluster results.tsv --meta meta.properties --out BENCHMARKS.md}. */
  static void cluster(Map<String, List<String>> a) throws IOException {
    List<Row> rows = readTsv(Path.of(Args.one(a, "cluster", "cluster.tsv")));
    Properties meta = new Properties();
    String metaPath = Args.one(a, "meta", null);
    if (metaPath != null) {
      meta.load(new StringReader(Files.readString(Path.of(metaPath))));
    }
    Path out = Path.of(Args.one(a, "out", "BENCHMARKS.md"));
    String doc = Files.exists(out) ? Files.readString(out) : "# Benchmarks\n\n";
    Files.writeString(out, withClusterSection(doc, clusterSection(rows, meta)), StandardCharsets.UTF_8);
    System.out.println(clusterTable(rows, meta));
  }

  /**
   * {@code Report --results results.tsv --wrk wrk.tsv [--slow slow.tsv] --meta meta.properties
   * [--jmh jmh.txt] [--notes notes.md] --out BENCHMARKS.md}; also prints the tables. Keeps the
   * cluster section ({@link #cluster}) of the file it replaces. With {@code --cluster}: writes
   * only that section.
   */
  public static void main(String[] args) throws IOException {
    Map<String, List<String>> a = Args.parse(args);
    if (a.containsKey("cluster")) {
      cluster(a);
      return;
    }
    List<Row> pulls = readTsv(Path.of(Args.one(a, "results", "results.tsv")));
    String wrkPath = Args.one(a, "wrk", null);
    List<Row> wrk = readTsv(wrkPath == null ? null : Path.of(wrkPath));
    String slowPath = Args.one(a, "slow", null);
    List<Row> slow = readTsv(slowPath == null ? null : Path.of(slowPath));
    Properties meta = new Properties();
    String metaPath = Args.one(a, "meta", null);
    if (metaPath != null) {
      meta.load(new StringReader(Files.readString(Path.of(metaPath))));
    }
    String jmhPath = Args.one(a, "jmh", null);
    String jmh = jmhPath != null && Files.exists(Path.of(jmhPath)) ? Files.readString(Path.of(jmhPath)) : null;
    String notesPath = Args.one(a, "notes", null);
    String notes = notesPath != null && Files.exists(Path.of(notesPath))
        ? Files.readString(Path.of(notesPath)) : null;

    StringBuilder md = new StringBuilder();
    md.append("# Benchmarks\n\n");
    md.append("Everything below was measured in one run of `proxy-bench/run.sh` and written by ")
        .append("`io.wharf.bench.Report`; nothing is typed in by hand. Re-run it to replace this file.\n\n");
    md.append("## The run\n\n| | |\n|---|---|\n");
    for (String k : List.of("command", "profile", "date", "commit", "nproc", "memory", "cpu",
        "kernel", "jdk", "nginx", "docker_registry", "wrk", "wan", "slow", "images", "scenarios",
        "upstream_auth", "zipf", "fault", "slow_clients", "deadline_s", "wrk_seconds", "load")) {
      if (meta.getProperty(k) != null) {
        String v = meta.getProperty(k);
        md.append("| ").append(k).append(" | ")
            .append(k.equals("command") ? "`" + v + "`" : v.replace("|", "\\|")).append(" |\n");
      }
    }
    md.append("\n## What runs\n\n")
        .append("- **Upstream**: `io.wharf.bench.SyntheticRegistry`, one process for the whole run, ")
        .append("deterministic incompressible images, counting every request and body byte per blob; ")
        .append("it stands in for a WAN uplink (`wan` above: one bandwidth budget shared by all bodies, ")
        .append("plus a delay before every response). The *throttled* scenario lowers it to `slow`.\n")
        .append("- **Targets**, one after the other, each with an empty cache at its start and the same ")
        .append("unreported 20-node warm-up pull of a separate image: Wharf (`java -jar proxy-server/target/wharf.jar serve`), ")
        .append("Debian's `docker-registry` in proxy mode (`proxy.remoteurl`), nginx with `proxy_cache`, ")
        .append("`proxy_cache_lock on` and lock timeout/age raised to 600 s.\n")
        .append("- **Clients**: `io.wharf.bench.PullSimulator`: N nodes start at the same instant and each ")
        .append("does what containerd does (HEAD tag, GET manifest by digest, GET config, GET layers three at ")
        .append("a time), hashing every body while it streams; a node counts as ok only if every sha256 and ")
        .append("size verified. *cold-N*: N nodes, image never pulled before; *warm-N*: the same image ")
        .append("again; *throttled-N*: cold, on the slow uplink; *zipf-N*: N nodes each pull one of 20 ")
        .append("images drawn from a Zipf distribution (`zipf` above; the same seed, so the same draw, for ")
        .append("every target); *failing-N*: cold, and the upstream resets the connection of the first GET ")
        .append("of each layer part-way through its body (`fault` above), serving every later GET, with or ")
        .append("without `Range`, in full. The simulator does not retry: a node whose layer download breaks ")
        .append("fails. Pull time is per node, from the common ")
        .append("start to its last verified layer; *wall* is until the last node finished (or the deadline). ")
        .append("*Layer TTFB*: for each layer, the first request (leader) vs every later one (followers).\n")
        .append("- Simulator, proxies and upstream share the same machine (`nproc` above), so absolute ")
        .append("numbers are lower bounds of what each proxy can do; the ratios and the upstream counts are ")
        .append("the point.\n\n");
    md.append("## Pulls\n\n").append(pullTable(pulls)).append('\n');
    String fails = failures(pulls);
    if (!fails.isEmpty()) {
      md.append("Failures (a failed node is one that did not get every blob verified before the deadline):\n\n")
          .append(fails).append('\n');
    }
    md.append("## Ratios\n\nPeer ÷ Wharf, from the rows above (medians are the per-node p50 pull ")
        .append("times). Above 1× means Wharf was faster or fetched less from upstream.\n\n")
        .append(ratioTable(pulls)).append('\n');
    if (!scenarios(pulls, "zipf-").isEmpty()) {
      md.append("## Zipf mix\n\n")
          .append("Nodes spread over 20 images by popularity; *copies* is upstream bytes over one copy ")
          .append("of every image that some node pulled (1.00× = each blob fetched once).\n\n")
          .append(zipfTable(pulls)).append('\n');
    }
    if (!scenarios(pulls, "failing-").isEmpty()) {
      md.append("## Upstream failing mid-blob\n\n")
          .append("The first upstream GET of every layer is reset part-way; *of them with Range* are the ")
          .append("GETs that asked for the rest only (resumes); *copies* above 1.00× is bytes fetched twice.\n\n")
          .append(failingTable(pulls)).append('\n');
    }
    if (!slow.isEmpty()) {
      md.append("## 10,000 slow clients\n\n")
          .append("`io.wharf.bench.SlowClients`: every connection GETs the same cached blob (the ")
          .append("largest layer of a separate image, fetched twice first so it is cached) and reads it ")
          .append("at the pace above. Connections are opened as fast as the target answers (at most 100 ")
          .append("waiting for their response head; *ramp* is how long opening all of them took), then ")
          .append("all are held for the time in `slow_clients`; *held* means still open at the end, ")
          .append("with every byte received so far equal to the blob's. Then a sample is drained at full ")
          .append("speed to the last byte (*full drains*) and the rest are closed. Each target is started ")
          .append("afresh for this, Wharf with the JVM options shown and `server.maxConnectionsPerClient: 0` ")
          .append("(all clients share 127.0.0.1), `server.maxConnections: 20000` and ")
          .append("`server.writeStallTimeout` at its default 120 s, shorter than the run so that a ")
          .append("reader Wharf considers stalled would be dropped and counted. Memory is sampled every second: heap from ")
          .append("Wharf's `/metrics` (`jvm_memory_used_bytes{area=\"heap\"}` summed over pools, ")
          .append("`jvm_gc_live_data_size_bytes`, `jvm_buffer_memory_used_bytes{id=\"direct\"}`), RSS ")
          .append("from `/proc/PID/status` of the process and its children (nginx's workers).\n\n")
          .append("Each client advertises an MSS of 1400 bytes and an 8 KiB receive buffer. Loopback's ")
          .append("64 KiB MTU would otherwise give every server socket a ~4 MB send buffer: the whole ")
          .append("blob would sit in the kernel after the first write and the server would never be asked ")
          .append("for more. With Ethernet-sized segments the server queues tens of KB per connection, ")
          .append("so it writes again every few seconds at this pace — well inside the write-stall ")
          .append("timeout, which fires only when for that long no byte of a pending response left the ")
          .append("process and the kernel sent no data on the socket (Wharf samples its output every ")
          .append("quarter of the timeout and, on epoll, asks `TCP_INFO` before dropping anyone).\n\n")
          .append(slowTable(slow)).append('\n');
    }
    if (!wrk.isEmpty()) {
      md.append("## Warm-cache throughput (wrk)\n\n")
          .append("`wrk -t2 -c64 --latency` against a cached blob, and a cached manifest by tag ")
          .append("(within its TTL) and by digest (both with an OCI `Accept` header), after the pull ")
          .append("scenarios and an unreported warm-up of the same length on the blob and the tag, the same ")
          .append("for every target (Wharf's JIT is still compiling its serving path after the pulls).\n\n")
          .append(wrkTable(wrk)).append('\n');
    }
    if (notes != null) {
      md.append("## Notes on this run\n\n").append(notes.strip()).append("\n\n");
    }
    md.append("## Micro-benchmarks (JMH)\n\n")
        .append("```sh\n./mvnw -q -B -DskipTests package -pl proxy-bench -am\n")
        .append("java -jar proxy-bench/target/wharf-bench.jar 'io.wharf.bench.jmh.*'            # full settings\n")
        .append("java -jar proxy-bench/target/wharf-bench.jar 'io.wharf.bench.jmh.*' -wi 2 -i 3 -w 1 -r 1 -f 1  # quick\n")
        .append("```\n\n")
        .append("`RouteParserBench`: `RouteParser.parse` (route parsing and name/digest validation) per ")
        .append("request target; `Sha256Bench`: SHA-256 of one 64 KiB slice, heap array and direct buffer ")
        .append("(MiB/s = ops/s ÷ 16).\n\n");
    if (jmh != null) {
      md.append("Quick settings, same run and machine as above:\n\n```\n").append(jmh.strip()).append("\n```\n");
    }
    Path out = Path.of(Args.one(a, "out", "BENCHMARKS.md"));
    String kept = Files.exists(out) ? clusterSectionOf(Files.readString(out)) : "";
    if (!kept.isEmpty()) {
      md.append('\n').append(kept);
    }
    Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
    System.out.println(pullTable(pulls));
    System.out.println(ratioTable(pulls));
    if (!wrk.isEmpty()) {
      System.out.println(wrkTable(wrk));
    }
    if (!slow.isEmpty()) {
      System.out.println(slowTable(slow));
    }
  }
}

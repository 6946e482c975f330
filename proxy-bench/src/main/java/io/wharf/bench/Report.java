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

  static String mib(double bytes) {
    return Double.isNaN(bytes) || bytes < 0 ? "" : String.format(Locale.ROOT, "%.0f", bytes / (1 << 20));
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
          .append(" | ").append(mib(up))
          .append(" | ").append(mib(served))
          .append(" | ").append(saving)
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

  /**
   * {@code Report --results results.tsv --wrk wrk.tsv --meta meta.properties [--jmh jmh.txt]
   * [--notes notes.md] --out BENCHMARKS.md}; also prints the tables.
   */
  public static void main(String[] args) throws IOException {
    Map<String, List<String>> a = Args.parse(args);
    List<Row> pulls = readTsv(Path.of(Args.one(a, "results", "results.tsv")));
    String wrkPath = Args.one(a, "wrk", null);
    List<Row> wrk = readTsv(wrkPath == null ? null : Path.of(wrkPath));
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
        "deadline_s", "wrk_seconds", "load")) {
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
        .append("again; *throttled-N*: cold, on the slow uplink. Pull time is per node, from the common ")
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
    if (!wrk.isEmpty()) {
      md.append("## Warm-cache throughput (wrk)\n\n")
          .append("`wrk -t2 -c64 --latency` against a cached blob and a cached tag manifest ")
          .append("(with an OCI `Accept` header), after the pull scenarios.\n\n")
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
    Files.writeString(Path.of(Args.one(a, "out", "BENCHMARKS.md")), md.toString(), StandardCharsets.UTF_8);
    System.out.println(pullTable(pulls));
    System.out.println(ratioTable(pulls));
    if (!wrk.isEmpty()) {
      System.out.println(wrkTable(wrk));
    }
  }
}

package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.sun.net.httpserver.HttpServer;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.WharfServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Prometheus scrape config, alert rules and Grafana dashboard in {@code deploy/} against a
 * live Wharf: every metric name their PromQL uses must appear in a real {@code /metrics} scrape
 * after some ordinary traffic and some failures (a corrupt blob, a broken download that is
 * resumed, a stale tag, a rate-limited upstream) and two clients sharing one fetch. A renamed meter breaks this test instead of silently emptying a panel.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardAndAlertsIT {
  private static final Path ALERTS = Path.of("prometheus/wharf-alerts.yml");
  private static final Path SCRAPE_CONFIG = Path.of("prometheus/prometheus.yml");
  private static final Path DASHBOARD = Path.of("grafana/wharf-dashboard.json");
  /** Series Prometheus writes itself; not in any target's scrape. */
  private static final Set<String> PROMETHEUS_SYNTHETIC = Set.of("up", "scrape_duration_seconds");

  ScriptedUpstream upstream;
  HttpServer limited;
  WharfServer server;
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  /** Sample name (as written in the scrape) → its family's TYPE. */
  final Map<String, String> samples = new HashMap<>();
  String scrape;

  @BeforeAll
  void startWharfDriveTrafficAndScrape(@TempDir Path store) throws Exception {
    upstream = new ScriptedUpstream();
    TestImages.Image img = TestImages.image(11, 200_000, 50_000);
    TestImages.publish(upstream, "team/app", "v1", img);
    Digest bad = upstream.putBlob(TestImages.bytes(99, 100_000));
    upstream.script(bad).corrupt = true;
    Digest flaky = upstream.putBlob(TestImages.bytes(98, 300_000));
    upstream.script(flaky).resetAfter = 100_000;
    upstream.script(flaky).resets.set(1);
    Digest gated = upstream.putBlob(TestImages.bytes(97, 300_000));
    upstream.script(gated).gate = new CountDownLatch(1);
    upstream.script(gated).gateAfter = 1000;
    Digest huge = upstream.putBlob(TestImages.bytes(96, 3 << 20));
    limited = rateLimitedUpstream(img);

    String yaml = "listen: 127.0.0.1:0\n"
        + "upstreams:\n"
        + "  - name: up\n    url: " + upstream.url() + "\n    tagTtl: 0s\n    retries: 2\n"
        + "  - name: limited\n    url: http://127.0.0.1:" + limited.getAddress().getPort() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\n      maxSize: 2MiB\n"
        + "server:\n  shutdownGrace: 1s\n";
    server = WharfServer.start(WharfConfig.parse(yaml));

    String accept = MediaTypes.OCI_MANIFEST + ", " + MediaTypes.OCI_INDEX;
    assertThat(get("/v2/team/app/manifests/v1", accept).statusCode()).isEqualTo(200);
    List<Digest> blobs = new ArrayList<>(List.of(img.configDigest()));
    for (int i = 0; i < img.layers().size(); i++) {
      blobs.add(img.layerDigest(i));
    }
    for (int round = 0; round < 2; round++) { // a miss, then disk hits
      for (Digest d : blobs) {
        HttpResponse<byte[]> r = get("/v2/team/app/blobs/" + d, null);
        assertThat(Digest.sha256Of(r.body())).isEqualTo(d);
      }
    }
    // A failing fetch: the upstream body does not hash to its digest; the client sees a cut.
    try {
      get("/v2/team/app/blobs/" + bad, null);
    } catch (IOException expected) {
      // connection cut before the last byte: the documented behaviour
    }
    // A broken download resumed with Range.
    assertThat(Digest.sha256Of(get("/v2/team/app/blobs/" + flaky, null).body())).isEqualTo(flaky);
    // Larger than the only tier's budget: passed through uncached.
    assertThat(Digest.sha256Of(get("/v2/team/app/blobs/" + huge, null).body())).isEqualTo(huge);
    // Two clients for one blob: the second joins the fetch in flight.
    var first = http.sendAsync(request("/v2/team/app/blobs/" + gated, null),
        HttpResponse.BodyHandlers.ofByteArray());
    var registry = server.services().meters().registry();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> registry.get("wharf.fetch.inflight").gauge().value() >= 1);
    var second = http.sendAsync(request("/v2/team/app/blobs/" + gated, null),
        HttpResponse.BodyHandlers.ofByteArray());
    await().atMost(Duration.ofSeconds(20)).until(() -> registry.find("wharf.fetch.joined").counter() != null);
    upstream.script(gated).gate.countDown();
    assertThat(Digest.sha256Of(first.get().body())).isEqualTo(gated);
    assertThat(Digest.sha256Of(second.get().body())).isEqualTo(gated);
    // Stale serving: tag TTL is 0, the upstream now fails manifests.
    upstream.manifestStatus = 503;
    assertThat(get("/v2/team/app/manifests/v1", accept).statusCode()).isEqualTo(200);
    upstream.manifestStatus = 0;
    // A Docker Hub-style upstream with rate-limit headers, selected by path prefix.
    assertThat(get("/v2/limited/team/app/manifests/v1", accept).statusCode()).isEqualTo(200);
    get("/v2/nosuch/app/manifests/v1", accept); // a 404 series

    // A full collection first: a gauge whose state is only weakly held reads NaN afterwards
    // (the disk-tier file-system gauges did, so the disk-full alert could never fire).
    java.lang.ref.WeakReference<Object> probe = new java.lang.ref.WeakReference<>(new Object());
    for (int i = 0; i < 50 && probe.get() != null; i++) {
      System.gc();
    }
    assertThat(probe.get()).as("a GC ran").isNull();
    HttpResponse<byte[]> m = get("/metrics", null);
    assertThat(m.statusCode()).isEqualTo(200);
    scrape = new String(m.body(), StandardCharsets.UTF_8);
    parseScrape(scrape);
  }

  @AfterAll
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
    if (limited != null) {
      limited.stop(0);
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private HttpResponse<byte[]> get(String path, String accept) throws IOException, InterruptedException {
    return http.send(request(path, accept), HttpResponse.BodyHandlers.ofByteArray());
  }

  private HttpRequest request(String path, String accept) {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + server.port() + path)).timeout(Duration.ofSeconds(20));
    if (accept != null) {
      b.header("Accept", accept);
    }
    return b.build();
  }

  /** An upstream that answers manifests with Docker Hub's rate-limit headers. */
  private static HttpServer rateLimitedUpstream(TestImages.Image img) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.createContext("/", ex -> {
      byte[] body = ex.getRequestURI().getPath().startsWith("/v2/team/app/manifests/")
          ? img.manifest() : new byte[0];
      ex.getResponseHeaders().add("ratelimit-limit", "100;w=21600");
      ex.getResponseHeaders().add("ratelimit-remaining", "42;w=21600");
      ex.getResponseHeaders().add("Content-Type", MediaTypes.OCI_MANIFEST);
      ex.getResponseHeaders().add("Docker-Content-Digest", img.manifestDigest().toString());
      ex.getResponseHeaders().add("Docker-Distribution-API-Version", "registry/2.0");
      boolean head = ex.getRequestMethod().equals("HEAD");
      int status = body.length == 0 && !ex.getRequestURI().getPath().equals("/v2/") ? 404 : 200;
      ex.sendResponseHeaders(status, head || body.length == 0 ? -1 : body.length);
      if (!head && body.length > 0) {
        ex.getResponseBody().write(body);
      }
      ex.close();
    });
    s.start();
    return s;
  }

  // ---- scrape parsing ----

  private void parseScrape(String text) {
    Map<String, String> types = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] p = line.split(" ");
        types.put(p[2], p[3]);
      }
    }
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher mm = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)").matcher(line);
      assertThat(mm.find()).as("sample line %s", line).isTrue();
      String name = mm.group(1);
      samples.put(name, familyType(name, types));
    }
  }

  /**
   * The TYPE of the family a sample belongs to. A {@code _bucket} sample belongs to a histogram,
   * {@code _sum}/{@code _count} to a histogram or summary (and {@code _created} to either, or a
   * counter); anything else must be a family of its own. Only strips a suffix when the stripped
   * family has a type that emits it, so {@code foo_count} as a plain gauge stays {@code foo_count}.
   */
  static String familyType(String sample, Map<String, String> types) {
    if (types.containsKey(sample)) {
      return types.get(sample);
    }
    Map<String, Set<String>> suffixes = new LinkedHashMap<>();
    suffixes.put("_bucket", Set.of("histogram"));
    suffixes.put("_sum", Set.of("histogram", "summary"));
    suffixes.put("_count", Set.of("histogram", "summary"));
    suffixes.put("_created", Set.of("histogram", "summary", "counter"));
    for (Map.Entry<String, Set<String>> e : suffixes.entrySet()) {
      if (sample.endsWith(e.getKey())) {
        String family = sample.substring(0, sample.length() - e.getKey().length());
        String t = types.get(family);
        if (t != null && e.getValue().contains(t)) {
          return t;
        }
      }
    }
    return "untyped";
  }

  // ---- PromQL: the metric names an expression reads ----

  private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])*'|`[^`]*`");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
  private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern IDENT = Pattern.compile("(?<![\\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");
  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset",
      "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2");
  private static final Pattern LABEL_VALUES =
      Pattern.compile("^\\s*label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*(,[^)]*)?\\)\\s*$");

  /** Metric names read by {@code expr}: not functions, keywords, labels, variables or durations. */
  static Set<String> metricNames(String expr) {
    Matcher lv = LABEL_VALUES.matcher(expr);
    if (lv.matches()) { // Grafana templating: label_values(metric, label) or label_values(label)
      return lv.group(2) == null ? Set.of() : Set.of(lv.group(1));
    }
    String s = STRING.matcher(expr).replaceAll("\"\"");
    s = MATCHERS.matcher(s).replaceAll(" ");
    s = RANGE.matcher(s).replaceAll(" ");
    s = GROUPING.matcher(s).replaceAll(" ");
    s = s.replaceAll("\\$\\{?\\w+}?", " "); // Grafana variables outside selectors
    Set<String> names = new TreeSet<>();
    Matcher m = IDENT.matcher(s);
    while (m.find()) {
      String id = m.group(1);
      boolean call = m.group(2) != null;
      if (!call && !KEYWORDS.contains(id.toLowerCase(java.util.Locale.ROOT))) {
        names.add(id);
      }
    }
    return names;
  }

  @Test
  void metricNames_parsesSelectorsNotFunctionsLabelsOrVariables() {
    assertThat(metricNames("histogram_quantile(0.99, sum by (le, route) "
        + "(rate(wharf_http_requests_seconds_bucket{instance=~\"$instance\",route!=\"x{y}\"}[$__rate_interval])))"))
        .containsExactly("wharf_http_requests_seconds_bucket");
    assertThat(metricNames("1 - a_total / on(instance) group_left b_total > 0.9 and bool up"))
        .containsExactly("a_total", "b_total", "up");
    assertThat(metricNames("label_values(wharf_x_count, instance)")).containsExactly("wharf_x_count");
    assertThat(metricNames("label_values(instance)")).isEmpty();
    assertThat(familyType("h_bucket", Map.of("h", "histogram"))).isEqualTo("histogram");
    assertThat(familyType("g_count", Map.of("g", "gauge"))).isEqualTo("untyped");
    assertThat(familyType("s_sum", Map.of("s", "summary"))).isEqualTo("summary");
  }

  // ---- the artefacts ----

  private static List<String> alertExpressions() throws IOException {
    JsonNode root = new YAMLMapper().readTree(Files.readString(ALERTS));
    List<String> out = new ArrayList<>();
    Set<String> names = new TreeSet<>();
    for (JsonNode group : root.path("groups")) {
      assertThat(group.path("name").asText()).isNotBlank();
      for (JsonNode rule : group.path("rules")) {
        String alert = rule.path("alert").asText();
        assertThat(alert).as("every rule is an alert with a name").isNotBlank();
        assertThat(names.add(alert)).as("alert names are unique: %s", alert).isTrue();
        assertThat(rule.path("expr").asText()).as("%s expr", alert).isNotBlank();
        assertThat(rule.path("labels").path("severity").asText()).as("%s severity", alert)
            .isIn("critical", "warning", "info");
        assertThat(rule.path("annotations").path("summary").asText()).as("%s summary", alert)
            .isNotBlank();
        if (rule.has("for")) {
          assertThat(rule.get("for").asText()).matches("\\d+[smh]");
        }
        out.add(rule.path("expr").asText());
      }
    }
    assertThat(out).isNotEmpty();
    return out;
  }

  private static List<String> dashboardExpressions() throws IOException {
    JsonNode root = new ObjectMapper().readTree(Files.readString(DASHBOARD));
    assertThat(root.path("uid").asText()).isNotBlank();
    assertThat(root.path("title").asText()).isNotBlank();
    List<String> out = new ArrayList<>();
    Set<Integer> ids = new java.util.HashSet<>();
    for (JsonNode p : root.path("panels")) {
      assertThat(ids.add(p.path("id").asInt())).as("panel ids are unique").isTrue();
      JsonNode pos = p.path("gridPos");
      assertThat(pos.path("x").asInt() + pos.path("w").asInt()).as("%s fits 24 columns",
          p.path("title").asText()).isLessThanOrEqualTo(24);
      if (p.path("type").asText().equals("row")) {
        continue;
      }
      assertThat(p.path("targets").size()).as("%s has queries", p.path("title").asText()).isPositive();
      Set<String> refIds = new java.util.HashSet<>();
      for (JsonNode t : p.path("targets")) {
        assertThat(refIds.add(t.path("refId").asText())).isTrue();
        assertThat(t.path("expr").asText()).isNotBlank();
        out.add(t.path("expr").asText());
      }
    }
    for (JsonNode v : root.path("templating").path("list")) {
      if (v.path("type").asText().equals("query")) {
        JsonNode q = v.path("query");
        out.add(q.isObject() ? q.path("query").asText() : q.asText());
      }
    }
    return out;
  }

  @Test
  void scrapeConfig_parsesAndScrapesWharfMetricsPath() throws IOException {
    JsonNode root = new YAMLMapper().readTree(Files.readString(SCRAPE_CONFIG));
    JsonNode job = root.path("scrape_configs").get(0);
    assertThat(job.path("job_name").asText()).isEqualTo("wharf");
    assertThat(job.path("metrics_path").asText()).isEqualTo("/metrics");
    assertThat(job.path("static_configs").get(0).path("targets").size()).isPositive();
    for (JsonNode f : root.path("rule_files")) {
      assertThat(SCRAPE_CONFIG.resolveSibling(f.asText())).exists();
    }
    // The path Prometheus scrapes is the one this Wharf answered.
    assertThat(scrape).contains("# TYPE wharf_");
  }

  @Test
  void alerts_everyMetricExistsInScrape() throws IOException {
    assertNamesInScrape("wharf-alerts.yml", alertExpressions());
  }

  @Test
  void dashboard_everyMetricExistsInScrape() throws IOException {
    assertNamesInScrape("wharf-dashboard.json", dashboardExpressions());
  }

  @Test
  void wharfSeries_readNumbersAfterGarbageCollection() {
    List<String> nan = scrape.lines()
        .filter(l -> l.startsWith("wharf_") && l.endsWith(" NaN")).toList();
    assertThat(nan).as("wharf_ samples reading NaN").isEmpty();
    assertThat(scrape).containsPattern("wharf_store_filesystem_free_bytes\\{[^}]*tier=\"disk0\"[^}]*} [0-9]");
  }

  @Test
  void failureSeries_existAfterFailingTraffic() {
    assertThat(scrape).containsPattern(
        "wharf_fetch_completed_total\\{[^}]*result=\"digest_mismatch\"[^}]*} 1");
    assertThat(scrape).containsPattern("wharf_manifest_cache_total\\{[^}]*result=\"stale\"");
    assertThat(scrape).containsPattern("wharf_upstream_ratelimit_remaining\\{[^}]*} 42");
    assertThat(samples.get("wharf_http_requests_seconds_bucket")).isEqualTo("histogram");
  }

  private void assertNamesInScrape(String file, List<String> exprs) {
    Set<String> used = new TreeSet<>();
    List<String> missing = new ArrayList<>();
    for (String e : exprs) {
      for (String name : metricNames(e)) {
        used.add(name);
        if (PROMETHEUS_SYNTHETIC.contains(name)) {
          continue;
        }
        String type = samples.get(name);
        if (type == null || type.equals("untyped")) {
          missing.add(name + " (in " + e.strip().replaceAll("\\s+", " ") + ")");
        } else if (name.endsWith("_bucket") && !type.equals("histogram")) {
          missing.add(name + " is not a histogram bucket");
        }
      }
    }
    if (!missing.isEmpty()) {
      fail(file + " uses metrics absent from a live scrape:\n  " + String.join("\n  ", missing)
          + "\nscraped wharf names: " + new TreeSet<>(samples.keySet()).stream()
              .filter(n -> n.startsWith("wharf_")).toList());
    }
    assertThat(used).as("%s reads Wharf metrics", file).anyMatch(n -> n.startsWith("wharf_"));
  }
}

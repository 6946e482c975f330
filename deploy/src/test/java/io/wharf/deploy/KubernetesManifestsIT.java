package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.wharf.core.config.ByteSizes;
import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.config.WharfConfig;
import io.wharf.server.WharfServer;
import io.wharf.server.cli.WharfCli;
import java.io.IOException;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The Kubernetes manifests in {@code deploy/kubernetes} read as the API server would (every
 * document deserialized into fabric8's typed model, no unknown field anywhere) and checked against
 * Wharf itself: the ConfigMap's {@code wharf.yaml} loads with {@link WharfConfig}; container,
 * Service, probe and scrape ports are the configured listen port; the container's arguments are a
 * valid {@code wharf serve} command reading the mounted ConfigMap; every disk tier lives on the
 * PersistentVolumeClaim and fits in it; the JVM's heap and direct memory fit the memory limit; the
 * probe and scrape paths answer 200 on a Wharf started with that very config; and every Kustomize
 * overlay refers to files and objects that exist. {@code helm}/{@code kustomize} cannot be
 * installed here, so this is what validates the manifests.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesManifestsIT {
  static final Path K8S = Path.of("kubernetes");
  static final Path BASE = K8S.resolve("base");
  /** Kinds the fabric8 model does not have (CRDs), read as generic objects. */
  static final Set<String> CUSTOM_KINDS = Set.of("ServiceMonitor");
  static final Set<String> KUSTOMIZATION_KEYS = Set.of("apiVersion", "kind", "namespace",
      "labels", "resources", "patches", "images", "components", "configMapGenerator",
      "secretGenerator", "replicas");

  final KubernetesSerialization k8s = new KubernetesSerialization();
  final YAMLMapper yaml = new YAMLMapper();
  /** Every manifest document by file (kustomization.yaml files excluded). */
  final Map<Path, List<KubernetesResource>> documents = new LinkedHashMap<>();
  StatefulSet statefulSet;
  Container wharf;
  ConfigMap configMap;
  WharfConfig config;
  WharfConfig.HostPort listen;

  @BeforeAll
  void readEveryManifest() throws IOException {
    try (Stream<Path> s = Files.walk(K8S)) {
      for (Path f : s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        if (f.getFileName().toString().equals("kustomization.yaml")) {
          continue;
        }
        List<KubernetesResource> docs = new ArrayList<>();
        for (JsonNode doc : yaml.readerFor(JsonNode.class).<JsonNode>readValues(f.toFile())
            .readAll()) {
          if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
            docs.add(k8s.unmarshal(new ObjectMapper().writeValueAsString(doc),
                KubernetesResource.class));
          }
        }
        documents.put(f, docs);
      }
    }
    statefulSet = one(BASE, StatefulSet.class, "wharf");
    wharf = statefulSet.getSpec().getTemplate().getSpec().getContainers().stream()
        .filter(c -> c.getName().equals("wharf")).findFirst().orElseThrow();
    configMap = one(BASE, ConfigMap.class, "wharf-config");
    config = WharfConfig.parse(configMap.getData().get("wharf.yaml"));
    listen = WharfConfig.HostPort.parse(config.listen(), "listen");
  }

  @Test
  void everyDocument_isATypedObject_withNoUnknownField() throws Exception {
    assertThat(documents.keySet()).contains(BASE.resolve("statefulset.yaml"),
        BASE.resolve("service.yaml"), BASE.resolve("configmap.yaml"));
    for (Map.Entry<Path, List<KubernetesResource>> e : documents.entrySet()) {
      assertThat(e.getValue()).as("%s has documents", e.getKey()).isNotEmpty();
      for (KubernetesResource r : e.getValue()) {
        HasMetadata m = (HasMetadata) r;
        if (r instanceof GenericKubernetesResource) {
          assertThat(m.getKind()).as("%s: kind %s unknown to the Kubernetes model", e.getKey(),
              m.getKind()).isIn(CUSTOM_KINDS);
          continue;
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(r, m.getKind(), unknown);
        assertThat(unknown).as("%s: fields the API server would reject or drop", e.getKey())
            .isEmpty();
      }
    }
  }

  @Test
  void configMap_isAValidWharfConfig_storedOnThePersistentVolume() {
    assertThat(config.storage().diskTiers()).isNotEmpty();
    Map<String, String> mounts = mounts(wharf);
    Set<String> claims = new LinkedHashSet<>();
    statefulSet.getSpec().getVolumeClaimTemplates()
        .forEach(c -> claims.add(c.getMetadata().getName()));
    Map<String, BigDecimal> needed = new LinkedHashMap<>();
    for (TierConfig t : config.storage().diskTiers()) {
      String volume = volumeHolding(mounts, t.path());
      assertThat(volume).as("disk tier %s is not under any volume mount %s", t.path(), mounts)
          .isNotNull();
      assertThat(claims).as("disk tier %s is on volume %s, not a PersistentVolumeClaim",
          t.path(), volume).contains(volume);
      assertThat(t.maxSize()).as("tier %s needs a budget below its volume's size", t.path())
          .isNotNull();
      needed.merge(volume, BigDecimal.valueOf(t.maxBytes() + t.minFreeBytes()), BigDecimal::add);
    }
    for (PersistentVolumeClaim c : statefulSet.getSpec().getVolumeClaimTemplates()) {
      BigDecimal size = Quantity.getAmountInBytes(
          c.getSpec().getResources().getRequests().get("storage"));
      assertThat(needed.getOrDefault(c.getMetadata().getName(), BigDecimal.ZERO))
          .as("tier budgets + free-space floors on claim %s", c.getMetadata().getName())
          .isLessThanOrEqualTo(size);
    }
  }

  @Test
  void containerArgs_areAServeCommand_readingTheMountedConfigMap() {
    List<String> argv = new ArrayList<>(wharf.getCommand() == null ? List.of() : wharf.getCommand());
    assertThat(argv).as("the image's entry point is the wharf CLI: set args, not command")
        .isEmpty();
    argv.addAll(wharf.getArgs());
    CommandLine.ParseResult parsed = WharfCli.commandLine().parseArgs(argv.toArray(String[]::new));
    assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("serve");
    Path configFile = parsed.subcommand().matchedOptionValue("--config", null);
    assertThat(configFile).isNotNull();
    VolumeMount mount = wharf.getVolumeMounts().stream()
        .filter(m -> configFile.startsWith(m.getMountPath())).findFirst().orElseThrow();
    String volumeConfigMap = statefulSet.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow()
        .getConfigMap().getName();
    assertThat(volumeConfigMap).isEqualTo(configMap.getMetadata().getName());
    assertThat(configMap.getData())
        .containsKey(Path.of(mount.getMountPath()).relativize(configFile).toString());
    assertThat(wharf.getImage()).isEqualTo(kustomization(BASE).get("images").get(0)
        .get("name").asText());
  }

  @Test
  void ports_areTheConfiguredListenPort_everywhere() {
    ContainerPort http = wharf.getPorts().stream().filter(p -> "http".equals(p.getName()))
        .findFirst().orElseThrow();
    assertThat(http.getContainerPort()).isEqualTo(listen.port());
    for (Service svc : all(Service.class)) {
      for (ServicePort p : svc.getSpec().getPorts()) {
        if (p.getTargetPort() != null) {
          assertThat(p.getTargetPort().getStrVal()).as("Service %s targets the named port",
              svc.getMetadata().getName()).isEqualTo("http");
        }
        assertThat(p.getPort()).isEqualTo(listen.port());
      }
    }
    Map<String, String> ann = statefulSet.getSpec().getTemplate().getMetadata().getAnnotations();
    assertThat(ann).containsEntry("prometheus.io/scrape", "true")
        .containsEntry("prometheus.io/port", String.valueOf(listen.port()));
    for (Probe p : probes(wharf)) {
      assertThat(p.getHttpGet().getPort().getStrVal()).isEqualTo("http");
    }
    // the host-network variant publishes the same port on the node
    StatefulSet hostNet = one(K8S.resolve("overlays/hostnetwork"), StatefulSet.class, "wharf");
    ContainerPort hp = hostNet.getSpec().getTemplate().getSpec().getContainers().get(0)
        .getPorts().get(0);
    assertThat(hp.getContainerPort()).isEqualTo(listen.port());
    assertThat(hp.getHostPort()).isEqualTo(listen.port());
    assertThat(hostNet.getSpec().getTemplate().getSpec().getHostNetwork()).isTrue();
    // the NodePort the docs and externalUrl name
    Service nodePort = one(K8S.resolve("overlays/nodeport"), Service.class, "wharf");
    assertThat(nodePort.getSpec().getType()).isEqualTo("NodePort");
    assertThat(URI.create(config.externalUrl()).getPort())
        .isEqualTo(nodePort.getSpec().getPorts().get(0).getNodePort());
  }

  @Test
  void jvmMemory_fitsTheContainerLimit_andTheMemoryTierFitsTheHeap() {
    String opts = wharf.getEnv().stream().filter(e -> e.getName().equals("JAVA_OPTS"))
        .findFirst().orElseThrow().getValue();
    long limit = Quantity.getAmountInBytes(wharf.getResources().getLimits().get("memory"))
        .longValueExact();
    long request = Quantity.getAmountInBytes(wharf.getResources().getRequests().get("memory"))
        .longValueExact();
    assertThat(request).as("memory request = limit: a cache should not be OOM-killed first")
        .isEqualTo(limit);
    Matcher pct = Pattern.compile("-XX:MaxRAMPercentage=(\\d+(?:\\.\\d+)?)").matcher(opts);
    Matcher direct = Pattern.compile("-XX:MaxDirectMemorySize=(\\d+)([kmg])").matcher(opts);
    assertThat(pct.find()).as("JAVA_OPTS sizes the heap from the limit: %s", opts).isTrue();
    assertThat(direct.find()).as("JAVA_OPTS caps Netty's direct memory: %s", opts).isTrue();
    long heap = (long) (limit * Double.parseDouble(pct.group(1)) / 100);
    long directBytes = Long.parseLong(direct.group(1))
        << switch (direct.group(2)) {
          case "k" -> 10;
          case "m" -> 20;
          default -> 30;
        };
    long jvmOverhead = 256L << 20; // metaspace, code cache, thread stacks
    assertThat(heap + directBytes + jvmOverhead).as("heap + direct + overhead vs limit %s", limit)
        .isLessThanOrEqualTo(limit);
    TierConfig memory = config.storage().memory();
    if (memory != null) {
      assertThat(memory.maxBytes()).as("memory tier vs half the heap").isLessThanOrEqualTo(heap / 2);
    }
    assertThat(opts).contains("-XX:+ExitOnOutOfMemoryError");
  }

  @Test
  void shutdown_fitsTheTerminationGracePeriod_andTheImagesUserRunsIt() throws IOException {
    var pod = statefulSet.getSpec().getTemplate().getSpec();
    assertThat(pod.getTerminationGracePeriodSeconds())
        .isGreaterThan(config.server().shutdownGrace().toSeconds());
    String dockerfile = Files.readString(Path.of("container/Dockerfile"));
    Matcher user = Pattern.compile("(?m)^USER (\\d+):(\\d+)$").matcher(dockerfile);
    assertThat(user.find()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(Long.parseLong(user.group(1)));
    assertThat(pod.getSecurityContext().getFsGroup()).isEqualTo(Long.parseLong(user.group(2)));
    assertThat(wharf.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(mounts(wharf)).as("a writable /tmp for the JVM").containsKey("/tmp");
  }

  @Test
  void probeAndScrapePaths_answer200_onAWharfStartedWithTheConfigMap(@TempDir Path store)
      throws Exception {
    List<TierConfig> tiers = new ArrayList<>();
    for (TierConfig t : config.storage().tiers()) {
      tiers.add(t.path() == null ? t : new TierConfig(t.type(),
          store.resolve(t.path().replaceAll("^/+", "")).toString(), t.maxSize(), "1MiB",
          t.maxObjectSize()));
    }
    WharfConfig local = new WharfConfig(config.version(), "127.0.0.1:0", config.externalUrl(),
        config.defaultUpstream(), config.upstreams(),
        new StorageConfig(tiers, config.storage().retention(), config.storage().promoteAfterHits()),
        config.server(), config.unknownRegistry(), config.admin()).validated();
    Set<String> paths = new LinkedHashSet<>();
    probes(wharf).forEach(p -> paths.add(p.getHttpGet().getPath()));
    paths.add(statefulSet.getSpec().getTemplate().getMetadata().getAnnotations()
        .get("prometheus.io/path"));
    GenericKubernetesResource monitor = one(K8S.resolve("overlays/monitoring"),
        GenericKubernetesResource.class, "wharf");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> endpoints =
        (List<Map<String, Object>>) ((Map<String, Object>) monitor.getAdditionalProperties()
            .get("spec")).get("endpoints");
    paths.add((String) endpoints.get(0).get("path"));
    assertThat(paths).contains("/healthz", "/readyz", "/metrics");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    try (WharfServer server = WharfServer.start(local)) {
      for (String path : paths) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
        if (path.equals("/metrics")) {
          assertThat(r.body()).contains("wharf_");
        }
      }
    }
  }

  @Test
  void serviceMonitor_selectsOneService_byItsLabels_andNamedPort() {
    GenericKubernetesResource monitor = one(K8S.resolve("overlays/monitoring"),
        GenericKubernetesResource.class, "wharf");
    assertThat(monitor.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) monitor.getAdditionalProperties().get("spec");
    @SuppressWarnings("unchecked")
    Map<String, String> match =
        (Map<String, String>) ((Map<String, Object>) spec.get("selector")).get("matchLabels");
    List<Service> selected = all(Service.class).stream()
        .filter(s -> s.getMetadata().getLabels().entrySet().containsAll(match.entrySet()))
        .toList();
    assertThat(selected).as("one Service scraped (not also the headless one)").hasSize(1);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> endpoints = (List<Map<String, Object>>) spec.get("endpoints");
    assertThat(selected.get(0).getSpec().getPorts()).extracting(ServicePort::getName)
        .contains((String) endpoints.get(0).get("port"));
  }

  @Test
  void kustomizations_referToFilesAndObjectsThatExist() throws IOException {
    List<Path> roots;
    try (Stream<Path> s = Files.walk(K8S)) {
      roots = s.filter(p -> p.getFileName().toString().equals("kustomization.yaml"))
          .map(Path::getParent).sorted().toList();
    }
    assertThat(roots).contains(BASE, K8S.resolve("overlays/nodeport"),
        K8S.resolve("overlays/hostnetwork"), K8S.resolve("overlays/monitoring"));
    for (Path dir : roots) {
      JsonNode k = kustomization(dir);
      assertThat(k.get("kind").asText()).isEqualTo("Kustomization");
      k.fieldNames().forEachRemaining(f -> assertThat(f).as("%s key", dir).isIn(KUSTOMIZATION_KEYS));
      List<HasMetadata> objects = objects(dir);
      for (JsonNode patch : iterable(k.get("patches"))) {
        Path file = dir.resolve(patch.get("path").asText());
        assertThat(file).as("%s patch", dir).isRegularFile();
        HasMetadata p = (HasMetadata) documents.get(file).get(0);
        JsonNode target = patch.get("target");
        assertThat(target.get("kind").asText()).isEqualTo(p.getKind());
        assertThat(target.get("name").asText()).isEqualTo(p.getMetadata().getName());
        assertThat(objects).as("%s: patch %s targets an object of its resources", dir, file)
            .anyMatch(o -> o.getKind().equals(p.getKind())
                && o.getMetadata().getName().equals(p.getMetadata().getName()));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private JsonNode kustomization(Path dir) {
    try {
      return yaml.readTree(dir.resolve("kustomization.yaml").toFile());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static Iterable<JsonNode> iterable(JsonNode array) {
    List<JsonNode> out = new ArrayList<>();
    if (array != null) {
      array.forEach(out::add);
    }
    return out;
  }

  /** The objects a kustomization directory produces (its resources, recursively; not patches). */
  private List<HasMetadata> objects(Path dir) {
    List<HasMetadata> out = new ArrayList<>();
    for (JsonNode r : iterable(kustomization(dir).get("resources"))) {
      Path p = dir.resolve(r.asText()).normalize();
      if (Files.isDirectory(p)) {
        assertThat(p.resolve("kustomization.yaml")).as("%s resource %s", dir, r).isRegularFile();
        out.addAll(objects(p));
      } else {
        assertThat(p).as("%s resource %s", dir, r).isRegularFile();
        documents.get(p).forEach(o -> out.add((HasMetadata) o));
      }
    }
    return out;
  }

  private <T> T one(Path dir, Class<T> type, String name) {
    return documents.entrySet().stream().filter(e -> e.getKey().startsWith(dir))
        .flatMap(e -> e.getValue().stream()).filter(type::isInstance).map(type::cast)
        .filter(o -> ((HasMetadata) o).getMetadata().getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in "
            + dir));
  }

  private <T> List<T> all(Class<T> type) {
    return documents.entrySet().stream().filter(e -> e.getKey().startsWith(BASE))
        .flatMap(e -> e.getValue().stream()).filter(type::isInstance).map(type::cast).toList();
  }

  private static List<Probe> probes(Container c) {
    List<Probe> out = new ArrayList<>();
    Stream.of(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe())
        .forEach(p -> {
          assertThat(p).as("startup, liveness and readiness probes").isNotNull();
          out.add(p);
        });
    return out;
  }

  private static Map<String, String> mounts(Container c) {
    Map<String, String> out = new LinkedHashMap<>();
    c.getVolumeMounts().forEach(m -> out.put(m.getMountPath(), m.getName()));
    return out;
  }

  private static String volumeHolding(Map<String, String> mounts, String path) {
    String best = null;
    for (String mp : mounts.keySet()) {
      if (Path.of(path).startsWith(mp) && (best == null || mp.length() > best.length())) {
        best = mp;
      }
    }
    return best == null ? null : mounts.get(best);
  }

  /**
   * Collects the paths of fields the model did not recognise (fabric8 keeps them in {@code
   * additionalProperties} instead of failing).
   */
  private static void unknownFields(Object o, String path, List<String> out) throws Exception {
    if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean
        || o instanceof Enum<?>) {
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object x : c) {
        unknownFields(x, path + "[" + i++ + "]", out);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        unknownFields(e.getValue(), path + "." + e.getKey(), out);
      }
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.")) {
      return;
    }
    for (Method g : o.getClass().getMethods()) {
      if (g.getParameterCount() != 0 || g.getDeclaringClass() == Object.class
          || !(g.getName().startsWith("get") || g.getName().startsWith("is"))) {
        continue;
      }
      Object v = g.invoke(o);
      if (g.getName().equals("getAdditionalProperties")) {
        if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
          out.add(path + ": " + extra.keySet());
        }
        continue;
      }
      if (o instanceof Quantity || o instanceof io.fabric8.kubernetes.api.model.IntOrString) {
        continue;
      }
      unknownFields(v, path + "." + g.getName(), out);
    }
  }

  static long bytes(String size) {
    return ByteSizes.parse(size);
  }
}

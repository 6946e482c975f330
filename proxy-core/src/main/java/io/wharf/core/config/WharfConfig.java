package io.wharf.core.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The whole configuration, as read from {@code wharf.yaml} (see the README's configuration
 * reference). Every field has a default, so an empty file — or no file — is a working Docker Hub
 * mirror on {@code 0.0.0.0:5000} with {@code ./wharf-data} as its store.
 *
 * @param version configuration format version (1)
 * @param listen {@code host:port} of the registry listener
 * @param externalUrl how clients reach this instance (used in rewritten {@code Link} headers and
 *     client snippets); derived from {@code listen} when absent
 * @param defaultUpstream name of the upstream used when neither {@code ns} nor a path prefix
 *     selects one; the first upstream when absent
 * @param upstreams upstream registries
 * @param storage storage tiers
 * @param server listener limits and timeouts
 * @param admin the admin listener ({@code /metrics}, health); absent means none
 * @param unknownRegistry what a request whose {@code ns} names no configured upstream (or is
 *     empty) gets: {@code reject} (404 NAME_UNKNOWN naming it) or {@code default} (the default
 *     upstream)
 * @param peers other instances that share this one's cache; absent means none
 */
public record WharfConfig(
    Integer version,
    String listen,
    String externalUrl,
    String defaultUpstream,
    List<UpstreamConfig> upstreams,
    StorageConfig storage,
    ServerConfig server,
    UnknownRegistry unknownRegistry,
    AdminConfig admin,
    PeerConfig peers) {

  /** Without peers (the shape before peers existed). */
  public WharfConfig(Integer version, String listen, String externalUrl, String defaultUpstream,
      List<UpstreamConfig> upstreams, StorageConfig storage, ServerConfig server,
      UnknownRegistry unknownRegistry, AdminConfig admin) {
    this(version, listen, externalUrl, defaultUpstream, upstreams, storage, server,
        unknownRegistry, admin, null);
  }

  /** Policy for an {@code ns} that no upstream answers to. */
  public enum UnknownRegistry {
    reject,
    @com.fasterxml.jackson.annotation.JsonProperty("default")
    useDefault
  }

  public static final int CURRENT_VERSION = 1;
  public static final String DEFAULT_LISTEN = "0.0.0.0:5000";

  /** The embedded default: Docker Hub, local disk, port 5000. */
  public static WharfConfig defaults() {
    return new WharfConfig(null, null, null, null, null, null, null, null, null).withDefaults();
  }

  /** Reads and validates a YAML file. */
  public static WharfConfig load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ConfigException("config file " + file + " does not exist", e);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e, e);
    }
    try {
      return parse(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
    } catch (ConfigException e) {
      throw new ConfigException(file + ": " + e.getMessage(), e.getCause());
    }
  }

  /** Parses YAML text (tests, {@code config check}). An empty document means all defaults. */
  public static WharfConfig parse(String yamlText) {
    ObjectMapper mapper = yaml();
    try {
      com.fasterxml.jackson.databind.JsonNode tree = mapper.readTree(yamlText);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        return defaults().validated();
      }
      if (!tree.isObject()) {
        throw new ConfigException("the configuration must be a YAML mapping of keys to values");
      }
      WharfConfig raw = mapper.treeToValue(tree, WharfConfig.class);
      return raw.withDefaults().validated();
    } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
      throw new ConfigException("unknown key '" + e.getPropertyName() + "' at " + parentPath(e)
          + " (known keys there: " + knownKeys(e) + ")", e);
    } catch (com.fasterxml.jackson.databind.exc.InvalidFormatException e) {
      throw new ConfigException("invalid value '" + e.getValue() + "' at " + path(e)
          + (e.getTargetType() != null && e.getTargetType().isEnum()
              ? " (one of " + java.util.Arrays.toString(e.getTargetType().getEnumConstants()) + ")"
              : ""), e);
    } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
      throw new ConfigException("invalid value at " + path(e) + ": expected "
          + describe(e.getTargetType()) + " (quote values that start with [ or {, e.g. \"[::]:5000\")",
          e);
    } catch (JsonMappingException e) {
      throw new ConfigException(e.getOriginalMessage() + " at " + path(e), e);
    } catch (IOException e) {
      throw new ConfigException("invalid YAML: "
          + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage() : e.getMessage())
          + " (values that start with [ { * & ! | > or contain ': ' need quotes,"
          + " e.g. listen: \"[::]:5000\")", e);
    }
  }

  private static String knownKeys(com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
    java.util.List<String> keys = new java.util.ArrayList<>();
    if (e.getKnownPropertyIds() != null) {
      e.getKnownPropertyIds().forEach(k -> keys.add(String.valueOf(k)));
    }
    java.util.Collections.sort(keys);
    return String.join(", ", keys);
  }

  private static String describe(Class<?> type) {
    if (type == null) {
      return "another type";
    }
    if (type == String.class || type == Duration.class) {
      return "a single value";
    }
    if (java.util.List.class.isAssignableFrom(type)) {
      return "a list";
    }
    if (type == Integer.class || type == int.class) {
      return "a number";
    }
    return "a mapping";
  }

  private static String parentPath(JsonMappingException e) {
    java.util.List<JsonMappingException.Reference> refs = e.getPath();
    JsonMappingException parent = new JsonMappingException(null, "");
    for (int i = 0; i < refs.size() - 1; i++) {
      parent.prependPath(refs.get(refs.size() - 2 - i));
    }
    return path(parent);
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        sb.append(sb.length() == 0 ? "" : ".").append(r.getFieldName());
      } else {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.length() == 0 ? "top level" : sb.toString();
  }

  /** Fills every unset field with its default. */
  public WharfConfig withDefaults() {
    List<UpstreamConfig> ups =
        upstreams == null || upstreams.isEmpty()
            ? List.of(UpstreamConfig.dockerHub())
            : upstreams.stream().map(UpstreamConfig::withDefaults).toList();
    String l = listen == null ? DEFAULT_LISTEN : listen;
    return new WharfConfig(
        version == null ? CURRENT_VERSION : version,
        l,
        externalUrl == null ? null : externalUrl.replaceAll("/+$", ""),
        defaultUpstream == null ? ups.get(0).name() : defaultUpstream,
        ups,
        storage == null ? StorageConfig.defaults() : storage.withDefaults(),
        server == null ? ServerConfig.defaults() : server.withDefaults(),
        unknownRegistry == null ? UnknownRegistry.reject : unknownRegistry,
        admin == null ? null : admin.withDefaults(),
        peers == null ? null : peers.withDefaults(server != null && server.tls() != null));
  }

  /** Checks every rule; throws {@link ConfigException} naming the key. */
  public WharfConfig validated() {
    if (version != CURRENT_VERSION) {
      throw new ConfigException(
          "version: " + version + " is not supported (this Wharf reads version " + CURRENT_VERSION
              + ")");
    }
    HostPort.parse(listen, "listen");
    if (externalUrl != null) {
      URI u = URI.create(externalUrl);
      if (u.getScheme() == null || u.getHost() == null) {
        throw new ConfigException("externalUrl: '" + externalUrl + "' must be an absolute URL");
      }
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < upstreams.size(); i++) {
      UpstreamConfig u = upstreams.get(i);
      u.validate("upstreams[" + i + "]");
      if (!names.add(u.name())) {
        throw new ConfigException("upstreams[" + i + "].name: '" + u.name() + "' is used twice");
      }
    }
    Set<String> hosts = new HashSet<>();
    for (int i = 0; i < upstreams.size(); i++) {
      for (String h : upstreams.get(i).hosts()) {
        if (!hosts.add(h.toLowerCase(java.util.Locale.ROOT))) {
          throw new ConfigException("upstreams[" + i + "].hosts: '" + h
              + "' is listed for two upstreams; an ns must select one");
        }
      }
    }
    if (!names.contains(defaultUpstream)) {
      throw new ConfigException(
          "defaultUpstream: '" + defaultUpstream + "' is not one of the upstreams " + names);
    }
    storage.validate();
    server.validate();
    if (admin != null) {
      admin.validate();
    }
    if (peers != null) {
      peers.validate();
    }
    return this;
  }

  /**
   * Resolves every upstream's credentials (files, environment variables) so that a config check
   * fails exactly where start-up would.
   */
  public WharfConfig checkSecrets(java.util.Map<String, String> env) {
    for (int i = 0; i < upstreams.size(); i++) {
      try {
        upstreams.get(i).credentials().resolve(env);
      } catch (ConfigException e) {
        throw new ConfigException("upstreams[" + i + "]." + e.getMessage(), e);
      }
    }
    if (peers != null) {
      peers.resolveToken(env);
    }
    return this;
  }

  public UpstreamConfig upstream(String name) {
    return upstreams.stream().filter(u -> u.name().equals(name)).findFirst().orElse(null);
  }

  /** {@link #externalUrl} or, when unset, one derived from {@link #listen}. */
  public String effectiveExternalUrl() {
    if (externalUrl != null) {
      return externalUrl;
    }
    HostPort hp = HostPort.parse(listen, "listen");
    String host = hp.host().equals("0.0.0.0") || hp.host().equals("::") ? "localhost" : hp.host();
    String scheme = server != null && server.tls() != null ? "https" : "http";
    return scheme + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + hp.port();
  }

  /** Returns a copy with the given listen address. */
  public WharfConfig withListen(String newListen) {
    return new WharfConfig(
        version, newListen, externalUrl, defaultUpstream, upstreams, storage, server, unknownRegistry,
        admin, peers);
  }

  /** Returns a copy whose only upstream is {@code url}, named after its host. */
  public WharfConfig withSingleUpstream(String url) {
    URI u = URI.create(url);
    String name =
        u.getHost() == null
            ? "upstream"
            : (u.getHost().equals("registry-1.docker.io") ? UpstreamConfig.DOCKER_HUB_NAME
                : u.getHost().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-"));
    List<UpstreamConfig> ups = new ArrayList<>();
    ups.add(UpstreamConfig.of(name, url));
    return new WharfConfig(
        version, listen, externalUrl, name, ups, storage, server, unknownRegistry, admin, peers);
  }

  /** Returns a copy with one disk tier at {@code dir} (retention and promotion settings kept). */
  public WharfConfig withStorageDir(String dir) {
    return new WharfConfig(
        version, listen, externalUrl, defaultUpstream, upstreams,
        new StorageConfig(List.of(TierConfig.disk(dir)),
            storage == null ? null : storage.retention(),
            storage == null ? null : storage.promoteAfterHits()).withDefaults(),
        server, unknownRegistry, admin, peers);
  }

  public WharfConfig withExternalUrl(String url) {
    return new WharfConfig(
        version, listen, url.replaceAll("/+$", ""), defaultUpstream, upstreams, storage, server,
        unknownRegistry, admin, peers);
  }

  /** The YAML mapper with Wharf's duration syntax; unknown keys are errors. */
  public static ObjectMapper yaml() {
    SimpleModule m = new SimpleModule("wharf-config");
    m.addDeserializer(
        Duration.class,
        new JsonDeserializer<>() {
          @Override
          public Duration deserialize(JsonParser p, DeserializationContext ctxt)
              throws IOException {
            try {
              return Durations.parse(p.getValueAsString());
            } catch (IllegalArgumentException e) {
              throw JsonMappingException.from(p, e.getMessage());
            }
          }
        });
    m.addSerializer(
        Duration.class,
        new com.fasterxml.jackson.databind.JsonSerializer<>() {
          @Override
          public void serialize(
              Duration value,
              com.fasterxml.jackson.core.JsonGenerator gen,
              com.fasterxml.jackson.databind.SerializerProvider serializers)
              throws IOException {
            gen.writeString(Durations.format(value));
          }
        });
    return new ObjectMapper(
            new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION))
        .registerModule(m)
        .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
  }

  /** A parsed {@code host:port}. */
  public record HostPort(String host, int port) {
    public static HostPort parse(String text, String key) {
      String t = text.trim();
      int colon = t.lastIndexOf(':');
      if (colon < 0) {
        throw new ConfigException(key + ": '" + text + "' must be host:port");
      }
      String host = t.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(t.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new ConfigException(key + ": '" + text + "' has no numeric port");
      }
      if (port < 0 || port > 65535 || host.isEmpty()) {
        throw new ConfigException(key + ": '" + text + "' is not a valid host:port");
      }
      return new HostPort(host, port);
    }
  }

  /**
   * Registry names more than one upstream answers to: containerd's {@code ?ns=<name>} selects the
   * first of them, so clients reach the others only through their path prefix. Legitimate (two
   * upstreams on one registry with different credentials), but worth a warning: a containerd
   * node configured for that registry always lands on the first.
   */
  public List<String> ambiguousRegistries() {
    List<String> out = new ArrayList<>();
    List<UpstreamConfig> ups = upstreams();
    for (int i = 1; i < ups.size(); i++) {
      UpstreamConfig later = ups.get(i);
      Set<String> reported = new HashSet<>();
      for (String key : later.registryNames()) {
        for (int j = 0; j < i; j++) {
          UpstreamConfig earlier = ups.get(j);
          if (earlier.answersTo(key) && reported.add(earlier.name())) {
            out.add("upstreams '" + earlier.name() + "' and '" + later.name()
                + "' both answer to registry '" + key + "': ?ns=" + key + " selects '"
                + earlier.name() + "'; clients reach '" + later.name()
                + "' only through its path prefix /v2/" + later.name() + "/...");
          }
        }
      }
    }
    return out;
  }
}

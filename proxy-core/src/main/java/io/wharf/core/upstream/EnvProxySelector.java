package io.wharf.core.upstream;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ProxySelector} from the conventional environment variables, which the JDK's HTTP client
 * ignores on its own: {@code HTTPS_PROXY} for https URLs, {@code HTTP_PROXY} for http URLs, and
 * {@code NO_PROXY} exceptions (upper case first, then lower case, as Go programs read them).
 *
 * <p>{@code NO_PROXY} entries: {@code *} (everything), a domain ({@code example.com} and {@code
 * .example.com} both match the domain and its subdomains), an IP literal, a CIDR block, each
 * optionally with {@code :port}. Only HTTP proxies are supported (the JDK client speaks no SOCKS,
 * and no TLS to the proxy); proxy user info in the URL is not used.
 */
final class EnvProxySelector extends ProxySelector {

  private static final Logger log = LoggerFactory.getLogger(EnvProxySelector.class);
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private final Proxy httpProxy;
  private final Proxy httpsProxy;
  private final List<NoProxyRule> noProxy;

  EnvProxySelector(Proxy httpProxy, Proxy httpsProxy, List<NoProxyRule> noProxy) {
    this.httpProxy = httpProxy;
    this.httpsProxy = httpsProxy;
    this.noProxy = List.copyOf(noProxy);
  }

  /** The selector the environment asks for, or null when it names no proxy. */
  static EnvProxySelector fromEnv(Map<String, String> env) {
    Proxy http = parseProxy(get(env, "HTTP_PROXY"), "HTTP_PROXY");
    Proxy https = parseProxy(get(env, "HTTPS_PROXY"), "HTTPS_PROXY");
    if (http == null && https == null) {
      return null;
    }
    return new EnvProxySelector(http, https, parseNoProxy(get(env, "NO_PROXY")));
  }

  private static String get(Map<String, String> env, String upper) {
    String v = env.get(upper);
    if (v == null || v.isBlank()) {
      v = env.get(upper.toLowerCase(Locale.ROOT));
    }
    return v == null || v.isBlank() ? null : v.strip();
  }

  static Proxy parseProxy(String value, String variable) {
    if (value == null) {
      return null;
    }
    String v = value.contains("://") ? value : "http://" + value;
    URI u;
    try {
      u = URI.create(v);
    } catch (IllegalArgumentException e) {
      log.warn("ignoring {}: not a URL", variable);
      return null;
    }
    if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
      log.warn("ignoring {}: only http:// proxies with a host are supported", variable);
      return null;
    }
    if (u.getRawUserInfo() != null) {
      log.warn("{}: proxy credentials in the URL are not supported and are not sent", variable);
    }
    int port = u.getPort() == -1 ? 80 : u.getPort();
    return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(u.getHost(), port));
  }

  static List<NoProxyRule> parseNoProxy(String value) {
    List<NoProxyRule> rules = new ArrayList<>();
    if (value == null) {
      return rules;
    }
    for (String raw : value.split(",")) {
      String e = raw.strip().toLowerCase(Locale.ROOT);
      if (e.isEmpty()) {
        continue;
      }
      if (e.equals("*")) {
        rules.add(new NoProxyRule(null, -1, null, -1, true));
        continue;
      }
      int port = -1;
      // host:port, [v6]:port; a bare v6 literal has several colons and no port
      if (e.startsWith("[")) {
        int close = e.indexOf(']');
        if (close > 0) {
          if (e.startsWith(":", close + 1)) {
            port = parsePort(e.substring(close + 2));
          }
          e = e.substring(1, close);
        }
      } else if (e.indexOf(':') > 0 && e.indexOf(':') == e.lastIndexOf(':')) {
        port = parsePort(e.substring(e.indexOf(':') + 1));
        e = e.substring(0, e.indexOf(':'));
      }
      int slash = e.indexOf('/');
      if (slash > 0) {
        try {
          byte[] net = InetAddress.getByName(e.substring(0, slash)).getAddress();
          int bits = Integer.parseInt(e.substring(slash + 1));
          rules.add(new NoProxyRule(null, port, net, bits, false));
        } catch (UnknownHostException | NumberFormatException ex) {
          log.warn("ignoring NO_PROXY entry that is not a valid CIDR block");
        }
        continue;
      }
      if (e.startsWith("*.")) {
        e = e.substring(2);
      } else if (e.startsWith(".")) {
        e = e.substring(1);
      }
      rules.add(new NoProxyRule(e, port, null, -1, false));
    }
    return rules;
  }

  private static int parsePort(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  @Override
  public List<Proxy> select(URI uri) {
    if (uri == null) {
      throw new IllegalArgumentException("uri is null");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    Proxy p = switch (scheme) {
      case "https" -> httpsProxy;
      case "http" -> httpProxy;
      default -> null;
    };
    if (p == null || bypass(uri)) {
      return List.of(Proxy.NO_PROXY);
    }
    return List.of(p);
  }

  boolean bypass(URI uri) {
    String host = uri.getHost();
    if (host == null) {
      return false;
    }
    host = host.toLowerCase(Locale.ROOT);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    byte[] ip = literalAddress(host);
    for (NoProxyRule r : noProxy) {
      if (r.matches(host, ip, port)) {
        return true;
      }
    }
    return false;
  }

  /** The address bytes of an IP literal, without any DNS lookup; null for a name. */
  static byte[] literalAddress(String host) {
    if (!IPV4.matcher(host).matches() && host.indexOf(':') < 0) {
      return null;
    }
    try {
      return InetAddress.getByName(host).getAddress(); // a literal: no lookup happens
    } catch (UnknownHostException e) {
      return null;
    }
  }

  @Override
  public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
    log.debug("proxy {} failed for {}://{}: {}", sa, uri.getScheme(), uri.getHost(), ioe.toString());
  }

  /** One {@code NO_PROXY} entry. */
  record NoProxyRule(String domain, int port, byte[] network, int prefixBits, boolean all) {
    boolean matches(String host, byte[] ip, int hostPort) {
      if (all) {
        return true;
      }
      if (port != -1 && port != hostPort) {
        return false;
      }
      if (network != null) {
        return ip != null && ip.length == network.length && inPrefix(ip);
      }
      if (ip != null) {
        byte[] own = literalAddress(domain);
        return own != null && java.util.Arrays.equals(own, ip);
      }
      return host.equals(domain) || host.endsWith("." + domain);
    }

    private boolean inPrefix(byte[] ip) {
      int bits = Math.max(0, Math.min(prefixBits, ip.length * 8));
      for (int i = 0; i < bits; i++) {
        int mask = 0x80 >>> (i % 8);
        if ((ip[i / 8] & mask) != (network[i / 8] & mask)) {
          return false;
        }
      }
      return true;
    }
  }
}

package io.wharf.core.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PeerSetTest {

  private static io.wharf.core.config.PeerConfig peers(String yaml) {
    return WharfConfig.parse("peers:\n" + yaml).peers();
  }

  @Test
  void refresh_staticMembersOnLoopback_selfIsTheOneOnTheListenPort() {
    PeerSet set = new PeerSet(peers(
        "  members: [\"127.0.0.1:7001\", \"127.0.0.1:7002\", \"127.0.0.1:7003\"]\n"), 7002,
        InetAddress::getAllByName);
    set.refresh();
    assertThat(set.self().id()).isEqualTo("127.0.0.1:7002");
    assertThat(set.members()).extracting(Peer::id)
        .containsExactly("127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003");
    assertThat(set.others()).extracting(Peer::id)
        .containsExactly("127.0.0.1:7001", "127.0.0.1:7003");
  }

  @Test
  void refresh_configuredSelfNotListed_isAddedAsMember() {
    PeerSet set = new PeerSet(peers("  self: wharf-0.wharf:5000\n  members: [\"10.9.9.9:5000\"]\n"),
        5000, InetAddress::getAllByName);
    set.refresh();
    assertThat(set.self().id()).isEqualTo("wharf-0.wharf:5000");
    assertThat(set.members()).extracting(Peer::id)
        .containsExactlyInAnyOrder("10.9.9.9:5000", "wharf-0.wharf:5000");
  }

  @Test
  void refresh_dnsAnswersChangeAndFail_membersFollowAndSurviveAFailure() throws Exception {
    AtomicReference<InetAddress[]> answer = new AtomicReference<>(new InetAddress[] {
        InetAddress.getByName("10.1.0.1"), InetAddress.getByName("10.1.0.2")});
    PeerSet set = new PeerSet(peers("  self: \"10.1.0.1:5000\"\n  dns: wharf-headless\n"), 5000,
        name -> {
          if (!name.equals("wharf-headless")) {
            return InetAddress.getAllByName(name);
          }
          InetAddress[] a = answer.get();
          if (a == null) {
            throw new UnknownHostException(name);
          }
          return a;
        });
    set.refresh();
    assertThat(set.members()).extracting(Peer::id)
        .containsExactly("10.1.0.1:5000", "10.1.0.2:5000");
    answer.set(new InetAddress[] {InetAddress.getByName("10.1.0.1"),
        InetAddress.getByName("10.1.0.2"), InetAddress.getByName("10.1.0.3")});
    set.refresh();
    assertThat(set.others()).extracting(Peer::id).containsExactly("10.1.0.2:5000", "10.1.0.3:5000");
    answer.set(null);
    set.refresh();
    assertThat(set.members()).hasSize(3);
  }

  @Test
  void alias_memberLearntToBeSelf_isNoLongerAnOther() {
    PeerSet set = new PeerSet(peers("  self: \"10.0.0.1:5000\"\n  members: [\"wharf-a:5000\"]\n"),
        5000, name -> new InetAddress[] {InetAddress.getByName("10.200.0.1")});
    set.refresh();
    Peer a = set.others().get(0);
    set.alias(a);
    assertThat(set.isSelf(a)).isTrue();
    assertThat(set.others()).isEmpty();
  }
}

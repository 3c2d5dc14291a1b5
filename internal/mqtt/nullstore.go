package mqtt

import "github.com/eclipse/paho.mqtt.golang/packets"

// nullStore keeps nothing. Paho's default store holds, in memory, every
// QoS 1 message from its arrival to its PUBACK, and every publish of ours
// until the broker's PUBACK, under a key it formats per packet: a map write,
// a delete and a fmt.Sprintf per reading (about a tenth of the subscriber's
// CPU with one reading per message). The subscriber does not need it: the
// broker's persistent session is what keeps unacknowledged readings across
// a lost connection (it sends them again), and a dead letter whose publish
// is cut off leaves its message unacknowledged, to be refused and
// dead-lettered again when it comes back (see process).
type nullStore struct{}

func (nullStore) Open()                                   {}
func (nullStore) Put(key string, m packets.ControlPacket) {}
func (nullStore) Get(key string) packets.ControlPacket    { return nil }
func (nullStore) All() []string                           { return nil }
func (nullStore) Del(key string)                          {}
func (nullStore) Close()                                  {}
func (nullStore) Reset()                                  {}

package hub

import "github.com/crowdrisk/crowdrisk/internal/event"

// topicSet is a small bit set of topics, cheap to test on the publish path.
type topicSet uint8

func topicBit(t event.Topic) topicSet {
	switch t {
	case event.TopicDensity:
		return 1
	case event.TopicAlerts:
		return 2
	}
	return 0
}

func newTopicSet(ts []event.Topic) topicSet {
	var s topicSet
	for _, t := range ts {
		s |= topicBit(t)
	}
	return s
}

func (s topicSet) has(t event.Topic) bool { return s&topicBit(t) != 0 }

func (s topicSet) list() []event.Topic {
	var out []event.Topic
	for _, t := range event.Topics {
		if s.has(t) {
			out = append(out, t)
		}
	}
	return out
}

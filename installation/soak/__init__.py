"""The soak test: the real app run for minutes with camera outages, OSC desk traffic and preset steps, then judged."""

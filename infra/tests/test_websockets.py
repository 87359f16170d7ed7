"""The fast publish path chooses the host and channel of a group as the channel layer does."""

from channels_redis.pubsub import RedisPubSubChannelLayer

from infra.websockets import layer_channel


async def test_the_fast_path_publishes_a_group_where_the_layer_listens_for_it():
    hosts = [f"redis://127.0.0.1:{port}/0" for port in (6379, 6380, 6381)]
    layer = RedisPubSubChannelLayer(hosts=hosts, prefix="marquee")
    for group in [f"showtime.{n}" for n in range(200)] + ["staff.audit", "queue.7"]:
        channel, index = layer_channel(group, prefix="marquee", hosts=len(hosts))
        assert channel == layer._get_group_channel_name(group)
        assert layer._shards[index] is layer._get_shard(channel)

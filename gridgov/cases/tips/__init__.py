"""助警信息 / 助警奖励: police tips, their routing to the station, rewards and the reward funds."""

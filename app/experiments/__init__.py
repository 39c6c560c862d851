"""Online experiments: sticky weighted assignment of users to arms, attribution of events
to the list that caused them, and the statistics that say which arm won."""

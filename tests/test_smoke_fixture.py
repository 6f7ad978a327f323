from carbonhub.ledger import verify_ledger
from tests.fixtures.actors import event


def test_given_a_person_when_a_ride_is_posted_then_the_chain_verifies(make_person, post, hub):
    person = make_person()
    report = post([event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")])
    assert report.posted == 1
    assert verify_ledger(hub.engine).ok

def test_landing_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Volunteer Registry" in response.get_data(as_text=True)


def test_factories(make, app):
    org = make.org()
    volunteer = make.volunteer()
    assert org.status == "approved"
    assert len(volunteer.volunteer_number) == 14

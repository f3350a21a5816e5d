from guichet.entities.views import users

app_name = "entities"
urlpatterns = users.urlpatterns
